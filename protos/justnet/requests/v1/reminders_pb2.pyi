import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from justnet.common.v1 import common_pb2 as _common_pb2
from justnet.requests.v1 import requests_pb2 as _requests_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListDueRequest(_message.Message):
    __slots__ = ("before", "page")
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    before: _timestamp_pb2.Timestamp
    page: _common_pb2.PageRequest
    def __init__(self, before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...
