"""Open streams end with their credentials: a subject removed from the access file loses its
server-sent events and gRPC streams within seconds, not at the next reconnect.
(Issue 23, item 2.)"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from gitconfig.access.accessfile import AccessFile
from gitconfig.access.principals import TokenRegistry
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.rest.app import create_app
from gitconfig.runtime.security import SecurityOptions, build_tokens
from gitconfig.service import Service
from tests.support.accessdata import ACCESS_FILE, seed, sha
from tests.support.jwtkeys import ACCESS, AUDIENCE, ISSUER, KEY, claims, sign
from tests.support.servers import GrpcServerThread, Reader, UvicornThread

NEWCOMER = "tok-newcomer"
WITH_NEWCOMER = (
    ACCESS_FILE
    + f"  - name: newcomer\n    token_sha256: {sha(NEWCOMER)}\n"
    + "    grants:\n      - {role: reader, applications: [payments], environments: [DEV]}\n"
)


def test_a_removed_subjects_sse_stream_ends(service: Service, tmp_path: Path) -> None:
    seed(service)
    path = tmp_path / "access.yaml"
    path.write_text(WITH_NEWCOMER)
    app = create_app(service, TokenRegistry(AccessFile(path, interval=0.0)))
    headers = {"Authorization": f"Bearer {NEWCOMER}"}
    with (
        UvicornThread(app) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream("GET", "/configs/watch", headers=headers) as response,
    ):
        assert response.status_code == 200
        lines: Reader[str] = Reader(response.iter_lines())
        while not lines.take(1)[0].startswith("event: ready"):
            pass
        path.write_text(ACCESS_FILE)  # the subject is removed
        rest = lines.finish(timeout=5.0)
        assert any('"reason":"unauthenticated"' in line for line in rest), rest


def test_a_removed_subjects_grpc_stream_is_unauthenticated(
    service: Service, tmp_path: Path
) -> None:
    seed(service)
    path = tmp_path / "access.yaml"
    path.write_text(WITH_NEWCOMER)
    tokens = TokenRegistry(AccessFile(path, interval=0.0))
    metadata = (("authorization", f"Bearer {NEWCOMER}"),)
    with (
        GrpcServerThread(service, tokens) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stream = config_pb2_grpc.ConfigurationServiceStub(channel).StreamConfigurationUpdates(
            config_pb2.StreamConfigurationUpdatesRequest(), metadata=metadata, timeout=8.0
        )
        stream.initial_metadata()  # subscribed
        path.write_text(ACCESS_FILE)  # the subject is removed
        with pytest.raises(grpc.RpcError) as ended:
            list(stream)
        assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_jwt_stream_ends_past_exp(service: Service, tmp_path: Path) -> None:
    seed(service)
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS)
    keys = tmp_path / "keys.pem"
    keys.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    options = SecurityOptions(
        access_file=access, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_keys=keys
    )
    app = create_app(service, build_tokens(options, environ={}))
    # exp 27 s ago: valid for 2-3 s more under the verifier's 30 s leeway, then expired
    token = sign(claims(exp=int(time.time()) - 27))
    with (
        UvicornThread(app) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream("GET", "/configs/watch", headers={"Authorization": f"Bearer {token}"}) as sse,
    ):
        assert sse.status_code == 200
        lines: Reader[str] = Reader(sse.iter_lines())
        rest = lines.finish(timeout=8.0)
        assert any('"reason":"unauthenticated"' in line for line in rest), rest


NARROWED = WITH_NEWCOMER.replace(
    "applications: [payments], environments: [DEV]}",
    "applications: [payments], environments: [TEST]}",
)


def test_a_narrowed_subjects_streams_end(service: Service, tmp_path: Path) -> None:
    """Grants narrowed in the access file (payments/DEV to payments/TEST): the streams were
    filtered and rendered for the old grants, so they end within seconds (SSE with its
    final error event, gRPC UNAUTHENTICATED) and the client opens them again."""
    assert NARROWED != WITH_NEWCOMER
    seed(service)
    path = tmp_path / "access.yaml"
    path.write_text(WITH_NEWCOMER)
    tokens = TokenRegistry(AccessFile(path, interval=0.0))
    headers = {"Authorization": f"Bearer {NEWCOMER}"}
    with (
        UvicornThread(create_app(service, tokens)) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream("GET", "/configs/watch", headers=headers) as response,
    ):
        lines: Reader[str] = Reader(response.iter_lines())
        while not lines.take(1)[0].startswith("event: ready"):
            pass
        path.write_text(NARROWED)
        rest = lines.finish(timeout=5.0)
        assert any('"reason":"unauthenticated"' in line for line in rest), rest
    path.write_text(WITH_NEWCOMER)
    with (
        GrpcServerThread(service, tokens) as grpc_server,
        grpc.insecure_channel(grpc_server.address) as channel,
    ):
        stream = config_pb2_grpc.ConfigurationServiceStub(channel).StreamConfigurationUpdates(
            config_pb2.StreamConfigurationUpdatesRequest(),
            metadata=(("authorization", f"Bearer {NEWCOMER}"),),
            timeout=8.0,
        )
        stream.initial_metadata()
        path.write_text(NARROWED)
        with pytest.raises(grpc.RpcError) as ended:
            list(stream)
        assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED
