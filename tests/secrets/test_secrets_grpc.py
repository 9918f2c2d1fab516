"""SECRET values over gRPC: plaintext for a principal entitled to reveal, the mask for the
others, in unary reads and the change stream (real sops binary, throwaway age keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.core.configfile import MASK
from gitconfig.core.model import Kind
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.service import ConfigChanges, NewConfig, Service
from tests.support.agekeys import secret_service
from tests.support.servers import GrpcServerThread, Reader

PLAIN = "grpc-secret-Value-42"
ADMIN = Principal("admin", frozenset({"admin"}))
REVEALER = (("authorization", "Bearer revealer-token"),)
READER = (("authorization", "Bearer reader-token"),)


@pytest.fixture
def service(bare_repo: Path, tmp_path: Path) -> Service:
    service, _ = secret_service(bare_repo, tmp_path)
    service.configs.create(ADMIN, secret(PLAIN))
    return service


def secret(value: str) -> NewConfig:
    return NewConfig("db-password", "billing", "PROD", "SECRET", value)


@pytest.fixture
def stub(service: Service) -> Iterator[config_pb2_grpc.ConfigurationServiceStub]:
    tokens = TokenRegistry()
    tokens.add("revealer-token", "revealer", ["read", "reveal"])
    tokens.add("reader-token", "reader", ["read"])
    with (
        GrpcServerThread(service, tokens) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        yield config_pb2_grpc.ConfigurationServiceStub(channel)


def test_unary_reads_reveal_only_to_an_entitled_principal(
    stub: config_pb2_grpc.ConfigurationServiceStub,
) -> None:
    one = config_pb2.GetConfigurationRequest(
        key="db-password", application="billing", environment="PROD"
    )
    assert stub.GetConfiguration(one, metadata=REVEALER).value == PLAIN
    masked = stub.GetConfiguration(one, metadata=READER)
    assert masked.value == MASK
    assert masked.value_type == config_pb2.VALUE_TYPE_SECRET
    many = config_pb2.GetConfigurationsRequest(application="billing", environment="PROD")
    assert [c.value for c in stub.GetConfigurations(many, metadata=REVEALER).configurations] == [
        PLAIN
    ]
    assert [c.value for c in stub.GetConfigurations(many, metadata=READER).configurations] == [MASK]


def test_the_stream_reveals_only_to_an_entitled_principal(
    stub: config_pb2_grpc.ConfigurationServiceStub, service: Service
) -> None:
    request = config_pb2.StreamConfigurationUpdatesRequest(application="billing")
    revealed = Reader(stub.StreamConfigurationUpdates(request, metadata=REVEALER))
    masked = Reader(stub.StreamConfigurationUpdates(request, metadata=READER))
    entry = service.reads.lookup(ADMIN, Kind.CONFIG, "billing", "PROD", "db-password")
    service.configs.update(ADMIN, entry.id, ConfigChanges(value="rotated-Value-43"))
    assert [u.value for u in revealed.take(1)] == ["rotated-Value-43"]
    assert [u.value for u in masked.take(1)] == [MASK]
