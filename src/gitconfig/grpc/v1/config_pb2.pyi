import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ValueType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VALUE_TYPE_UNSPECIFIED: _ClassVar[ValueType]
    VALUE_TYPE_STRING: _ClassVar[ValueType]
    VALUE_TYPE_NUMBER: _ClassVar[ValueType]
    VALUE_TYPE_BOOLEAN: _ClassVar[ValueType]
    VALUE_TYPE_JSON: _ClassVar[ValueType]
    VALUE_TYPE_SECRET: _ClassVar[ValueType]

class Environment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENVIRONMENT_UNSPECIFIED: _ClassVar[Environment]
    ENVIRONMENT_DEV: _ClassVar[Environment]
    ENVIRONMENT_TEST: _ClassVar[Environment]
    ENVIRONMENT_STAGING: _ClassVar[Environment]
    ENVIRONMENT_PROD: _ClassVar[Environment]

class UpdateType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPDATE_TYPE_UNSPECIFIED: _ClassVar[UpdateType]
    UPDATE_TYPE_CREATED: _ClassVar[UpdateType]
    UPDATE_TYPE_UPDATED: _ClassVar[UpdateType]
    UPDATE_TYPE_DELETED: _ClassVar[UpdateType]
VALUE_TYPE_UNSPECIFIED: ValueType
VALUE_TYPE_STRING: ValueType
VALUE_TYPE_NUMBER: ValueType
VALUE_TYPE_BOOLEAN: ValueType
VALUE_TYPE_JSON: ValueType
VALUE_TYPE_SECRET: ValueType
ENVIRONMENT_UNSPECIFIED: Environment
ENVIRONMENT_DEV: Environment
ENVIRONMENT_TEST: Environment
ENVIRONMENT_STAGING: Environment
ENVIRONMENT_PROD: Environment
UPDATE_TYPE_UNSPECIFIED: UpdateType
UPDATE_TYPE_CREATED: UpdateType
UPDATE_TYPE_UPDATED: UpdateType
UPDATE_TYPE_DELETED: UpdateType

class GetConfigurationRequest(_message.Message):
    __slots__ = ("key", "application", "environment")
    KEY_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    key: str
    application: str
    environment: str
    def __init__(self, key: _Optional[str] = ..., application: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class ConfigurationResponse(_message.Message):
    __slots__ = ("key", "value", "value_type", "version", "updated_at", "application", "environment", "id", "commit")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    value_type: ValueType
    version: int
    updated_at: _timestamp_pb2.Timestamp
    application: str
    environment: str
    id: str
    commit: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., value_type: _Optional[_Union[ValueType, str]] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[str] = ..., environment: _Optional[str] = ..., id: _Optional[str] = ..., commit: _Optional[str] = ...) -> None: ...

class GetConfigurationsRequest(_message.Message):
    __slots__ = ("keys", "application", "environment")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    application: str
    environment: str
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., application: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class GetConfigurationsResponse(_message.Message):
    __slots__ = ("configurations",)
    CONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    configurations: _containers.RepeatedCompositeFieldContainer[ConfigurationResponse]
    def __init__(self, configurations: _Optional[_Iterable[_Union[ConfigurationResponse, _Mapping]]] = ...) -> None: ...

class CheckFeatureFlagRequest(_message.Message):
    __slots__ = ("key", "application", "environment", "user_id", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    key: str
    application: str
    environment: str
    user_id: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, key: _Optional[str] = ..., application: _Optional[str] = ..., environment: _Optional[str] = ..., user_id: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CheckFeatureFlagResponse(_message.Message):
    __slots__ = ("key", "enabled", "value", "reason", "rule_index")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RULE_INDEX_FIELD_NUMBER: _ClassVar[int]
    key: str
    enabled: bool
    value: _struct_pb2.Struct
    reason: str
    rule_index: int
    def __init__(self, key: _Optional[str] = ..., enabled: _Optional[bool] = ..., value: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ..., rule_index: _Optional[int] = ...) -> None: ...

class StreamConfigurationUpdatesRequest(_message.Message):
    __slots__ = ("application", "environment", "keys", "resume_after_commit", "include_flags")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_COMMIT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    application: str
    environment: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    resume_after_commit: str
    include_flags: bool
    def __init__(self, application: _Optional[str] = ..., environment: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., resume_after_commit: _Optional[str] = ..., include_flags: _Optional[bool] = ...) -> None: ...

class ConfigurationUpdate(_message.Message):
    __slots__ = ("key", "value", "value_type", "version", "update_type", "updated_at", "commit", "application", "environment", "kind", "id", "commit_end")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMIT_END_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    value_type: ValueType
    version: int
    update_type: UpdateType
    updated_at: _timestamp_pb2.Timestamp
    commit: str
    application: str
    environment: str
    kind: str
    id: str
    commit_end: bool
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., value_type: _Optional[_Union[ValueType, str]] = ..., version: _Optional[int] = ..., update_type: _Optional[_Union[UpdateType, str]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., commit: _Optional[str] = ..., application: _Optional[str] = ..., environment: _Optional[str] = ..., kind: _Optional[str] = ..., id: _Optional[str] = ..., commit_end: _Optional[bool] = ...) -> None: ...

class GetSnapshotRequest(_message.Message):
    __slots__ = ("application", "environment", "include_flags")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    application: str
    environment: str
    include_flags: bool
    def __init__(self, application: _Optional[str] = ..., environment: _Optional[str] = ..., include_flags: _Optional[bool] = ...) -> None: ...

class GetSnapshotResponse(_message.Message):
    __slots__ = ("commit", "entries")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    commit: str
    entries: _containers.RepeatedCompositeFieldContainer[ConfigurationUpdate]
    def __init__(self, commit: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[ConfigurationUpdate, _Mapping]]] = ...) -> None: ...
