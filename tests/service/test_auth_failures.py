"""Failed authentications are limited per client address, at every door (REST routes, the
read fast path, OFREP, gRPC, webhooks): past the limit a new credential is not even tried
(429 / RESOURCE_EXHAUSTED with a retry delay), while a credential that passed before from
that address goes on."""

from __future__ import annotations

import grpc
import pytest
from fastapi.testclient import TestClient

from gitconfig.access.gate import Gate
from gitconfig.access.principals import TokenRegistry
from gitconfig.access.ratelimit import AUTH_FAILURES, FailureLimiter, parse_rate
from gitconfig.core.errors import RateLimited, Unauthenticated
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.rest.app import create_app
from gitconfig.service import Service
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN

LIMIT = int(AUTH_FAILURES.partition("/")[0])
LOOKUP = "/configs/lookup?application=shop&environment=DEV&key=k"


def _tokens() -> TokenRegistry:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    tokens.add("second-token", "second", ["admin"])
    return tokens


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", LOOKUP),  # the read fast path (and the route behind it: counted once)
        ("GET", "/configs"),  # a route
        ("POST", "/ofrep/shop/DEV/ofrep/v1/evaluate/flags"),  # OFREP
    ],
)
def test_failed_authentications_are_limited_per_address(
    service: Service, method: str, path: str
) -> None:
    with TestClient(create_app(service, _tokens())) as client:
        good = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert client.get("/configs", headers=good).status_code == 200  # known before
        body = {"context": {"targetingKey": "u"}} if method == "POST" else None
        bad = {"Authorization": "Bearer guessed"}
        statuses = [
            client.request(method, path, headers=bad, json=body).status_code
            for _ in range(LIMIT + 2)
        ]
        assert statuses == [401] * LIMIT + [429, 429]
        refused = client.request(method, path, headers=bad, json=body)
        assert int(refused.headers["Retry-After"]) >= 1
        # A credential that passed before goes on; a new one (even a right one) waits.
        assert client.get("/configs", headers=good).status_code == 200
        fresh = {"Authorization": "Bearer second-token"}
        assert client.get("/configs", headers=fresh).status_code == 429


def test_a_gate_counts_failures_by_address_only() -> None:
    gate = Gate(_tokens(), FailureLimiter(parse_rate("2/minute")))
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            gate.principal(b"Bearer nope", client="10.0.0.1")
    with pytest.raises(RateLimited):
        gate.principal(b"Bearer nope", client="10.0.0.1")
    with pytest.raises(Unauthenticated):  # another address is not affected
        gate.principal(b"Bearer nope", client="10.0.0.2")
    assert gate.principal(f"Bearer {ADMIN_TOKEN}", client="10.0.0.2").name == "admin"


def test_grpc_failures_are_limited(service: Service) -> None:
    request = config_pb2.GetConfigurationsRequest(application="shop", environment="DEV")
    with (
        GrpcServerThread(service, _tokens()) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        codes = []
        for _ in range(LIMIT + 1):
            with pytest.raises(grpc.RpcError) as raised:
                stub.GetConfigurations(request, metadata=(("authorization", "Bearer nope"),))
            codes.append(raised.value.code())
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * LIMIT + [
            grpc.StatusCode.RESOURCE_EXHAUSTED
        ]
