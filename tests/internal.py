"""Channels to a node's internal ports for tests, carrying the node's internal credential
as the node's own processes do (services/common/internal.py): without it a service takes
no caller from metadata, so the `Caller(...).metadata()` a test sends would count as
anonymous."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from services.common.clients import open_channel
from services.common.internal import InternalCredential, ensure_token


def node_credential(data_dir: Path) -> InternalCredential:
    """The credential of the node whose data folder is `data_dir` (made if missing)."""
    ensure_token(data_dir)
    return InternalCredential(data_dir, {})


def internal_channel(target: str, data_dir: Path, **options: Any) -> grpc.aio.Channel:
    """A channel to one of the node's services, as another process of the node opens it."""
    return open_channel(target, credential=node_credential(data_dir), **options)
