"""Which of this node's services handles a message kind: "<service>.<what>" goes to
that service's Mailbox. Only services that exchange messages are listed."""

from __future__ import annotations

from justnet.common.v1 import exchange_pb2_grpc

from services.common.clients import open_channel
from services.common.internal import InternalCredential
from services.common.settings import NodeSettings

HANDLERS = ("requests", "events")


class Mailboxes:
    def __init__(self, settings: NodeSettings, credential: InternalCredential) -> None:
        self._channels = {
            name: open_channel(
                settings.service(name).target, default_timeout=15.0, credential=credential
            )
            for name in HANDLERS
        }
        self._stubs = {
            name: exchange_pb2_grpc.MailboxStub(channel) for name, channel in self._channels.items()
        }

    def for_kind(self, kind: str) -> exchange_pb2_grpc.MailboxStub | None:
        return self._stubs.get(kind.partition(".")[0])

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
