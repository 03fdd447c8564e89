"""DirectoryServicer: gRPC requests in, logic calls, messages out. No rules live here."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, TypeVar, cast

import grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc

from services.common.identity import current_caller
from services.common.replication import Changes
from services.directory import wire
from services.directory.logic import DirectoryLogic
from services.directory.store import ListFilter

Ctx: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type hints


Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def _writes(method: Method) -> Method:
    """The method changes records: the change streams wake once it has returned."""

    @functools.wraps(method)
    async def wrapper(self: DirectoryServicer, request: Any, context: Ctx) -> Any:
        result = await method(self, request, context)
        self.notify_changed()
        return result

    return cast(Method, wrapper)


class DirectoryServicer(directory_pb2_grpc.DirectoryServiceServicer):
    """The directory's own API. Its change log and replicas are served on the same server
    by the kit's ReplicaFeedServicer (service.py); `changes` wakes its streams."""

    def __init__(self, logic: DirectoryLogic, changes: Changes) -> None:
        self.logic = logic
        self.changes = changes

    def notify_changed(self) -> None:
        self.changes.notify()

    async def _delete(
        self, kind: str, request: directory_pb2.DeleteRecordRequest
    ) -> directory_pb2.DeleteRecordResponse:
        rid, version = await self.logic.delete(
            kind, request.id, request.expected_version, current_caller()
        )
        return directory_pb2.DeleteRecordResponse(id=rid, version=version)

    # reference data
    async def ListNetworks(
        self, request: directory_pb2.ListNetworksRequest, context: Ctx
    ) -> directory_pb2.ListNetworksResponse:
        return directory_pb2.ListNetworksResponse(items=self.logic.networks())

    async def GetNetwork(
        self, request: directory_pb2.GetNetworkRequest, context: Ctx
    ) -> directory_pb2.Network:
        return self.logic.get_network(request.code)

    async def ListJurisdictions(
        self, request: directory_pb2.ListJurisdictionsRequest, context: Ctx
    ) -> directory_pb2.ListJurisdictionsResponse:
        return directory_pb2.ListJurisdictionsResponse(
            items=self.logic.jurisdictions_list(request.network)
        )

    async def GetJurisdiction(
        self, request: directory_pb2.GetJurisdictionRequest, context: Ctx
    ) -> directory_pb2.Jurisdiction:
        return await self.logic.get_jurisdiction(request.code, current_caller())

    async def ListInstruments(
        self, request: directory_pb2.ListInstrumentsRequest, context: Ctx
    ) -> directory_pb2.ListInstrumentsResponse:
        return directory_pb2.ListInstrumentsResponse(
            items=await self.logic.instruments(request.party)
        )

    async def PutInstrument(
        self, request: directory_pb2.PutInstrumentRequest, context: Ctx
    ) -> directory_pb2.Instrument:
        return await self.logic.put_instrument(request.instrument, current_caller())

    # routing profiles
    async def GetRoutingProfile(
        self, request: directory_pb2.GetRoutingProfileRequest, context: Ctx
    ) -> directory_pb2.RoutingProfile:
        return await self.logic.routing_profile(
            request.jurisdiction, current_caller(), request.origin
        )

    @_writes
    async def PutRoutingProfile(
        self, request: directory_pb2.PutRoutingProfileRequest, context: Ctx
    ) -> directory_pb2.RoutingProfile:
        return await self.logic.put_routing_profile(
            request.profile, request.expected_version, current_caller()
        )

    # authorities
    @_writes
    async def CreateAuthority(
        self, request: directory_pb2.CreateAuthorityRequest, context: Ctx
    ) -> directory_pb2.Authority:
        return await self.logic.create_authority(request.authority, current_caller())

    async def GetAuthority(
        self, request: directory_pb2.GetRecordRequest, context: Ctx
    ) -> directory_pb2.Authority:
        result: directory_pb2.Authority = await self.logic.get(
            "authority", request.id, current_caller()
        )
        return result

    @_writes
    async def UpdateAuthority(
        self, request: directory_pb2.UpdateAuthorityRequest, context: Ctx
    ) -> directory_pb2.Authority:
        return await self.logic.update_authority(
            request.authority, request.expected_version, current_caller()
        )

    @_writes
    async def DeleteAuthority(
        self, request: directory_pb2.DeleteRecordRequest, context: Ctx
    ) -> directory_pb2.DeleteRecordResponse:
        return await self._delete("authority", request)

    async def ListAuthorities(
        self, request: directory_pb2.ListAuthoritiesRequest, context: Ctx
    ) -> directory_pb2.ListAuthoritiesResponse:
        flt = ListFilter(
            jurisdiction=request.jurisdiction,
            competence=request.competence,
            network=request.network,
            q=request.q,
        )
        items, cursor = await self.logic.list_records(
            "authority", current_caller(), flt, request.page.limit, request.page.cursor
        )
        return directory_pb2.ListAuthoritiesResponse(items=items, next_cursor=cursor)

    # contact points
    @_writes
    async def CreateContactPoint(
        self, request: directory_pb2.CreateContactPointRequest, context: Ctx
    ) -> directory_pb2.ContactPoint:
        return await self.logic.create_contact_point(request.contact_point, current_caller())

    async def GetContactPoint(
        self, request: directory_pb2.GetRecordRequest, context: Ctx
    ) -> directory_pb2.ContactPoint:
        result: directory_pb2.ContactPoint = await self.logic.get(
            "contact_point", request.id, current_caller()
        )
        return result

    @_writes
    async def UpdateContactPoint(
        self, request: directory_pb2.UpdateContactPointRequest, context: Ctx
    ) -> directory_pb2.ContactPoint:
        return await self.logic.update_contact_point(
            request.contact_point, request.expected_version, current_caller()
        )

    @_writes
    async def DeleteContactPoint(
        self, request: directory_pb2.DeleteRecordRequest, context: Ctx
    ) -> directory_pb2.DeleteRecordResponse:
        return await self._delete("contact_point", request)

    async def GetDirectoryStatistics(
        self, request: directory_pb2.DirectoryStatisticsRequest, context: Ctx
    ) -> directory_pb2.DirectoryStatistics:
        return await self.logic.statistics(current_caller())

    @_writes
    async def RecordAttendance(
        self, request: directory_pb2.RecordAttendanceRequest, context: Ctx
    ) -> directory_pb2.ContactPoint:
        return await self.logic.record_attendance(request, current_caller())

    async def ListContactPoints(
        self, request: directory_pb2.ListContactPointsRequest, context: Ctx
    ) -> directory_pb2.ListContactPointsResponse:
        flt = ListFilter(
            jurisdiction=request.jurisdiction,
            competence=request.competence,
            language=request.language,
            network=request.network,
            q=request.q,
            available_24_7=(request.available_24_7 if request.HasField("available_24_7") else None),
        )
        items, cursor = await self.logic.list_records(
            "contact_point", current_caller(), flt, request.page.limit, request.page.cursor
        )
        return directory_pb2.ListContactPointsResponse(items=items, next_cursor=cursor)

    # lookup and import
    async def Lookup(self, request: directory_pb2.LookupRequest, context: Ctx) -> bytes:
        # Already serialised: `add_to_server` gives Lookup a serializer that passes bytes.
        return self.logic.lookup(request, current_caller())

    async def WatchLookupToken(
        self, request: directory_pb2.WatchLookupTokenRequest, context: Ctx
    ) -> AsyncIterator[directory_pb2.LookupToken]:
        # The token says nothing about records, so anyone may follow it.
        token = ""
        while True:
            token = await self.logic.index.next_token(token)
            yield directory_pb2.LookupToken(token=token)

    async def ImportDirectory(
        self, request: directory_pb2.ImportDirectoryRequest, context: Ctx
    ) -> directory_pb2.ImportDirectoryResponse:
        result = await self.logic.import_directory(request, current_caller())
        if result.created or result.updated:
            self.notify_changed()
        return result


SERVICE_NAME = directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"].full_name


class _Handlers:
    """Stands in for a server to collect the handlers the generated code registers."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        pass  # the same handlers also come as registered ones, below

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self.handlers.update(handlers)


def add_to_server(servicer: DirectoryServicer, server: grpc.aio.Server) -> None:
    """Registers the service as the generated code does, except that Lookup's response
    serializer passes the bytes the index serialised (and cached) once."""
    collected = _Handlers()
    directory_pb2_grpc.add_DirectoryServiceServicer_to_server(servicer, collected)
    handlers = collected.handlers
    assert "Lookup" in handlers, "the generated code registers no Lookup handler"
    handlers["Lookup"] = grpc.unary_unary_rpc_method_handler(
        servicer.Lookup,
        request_deserializer=directory_pb2.LookupRequest.FromString,
        response_serializer=wire.serialized,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)
