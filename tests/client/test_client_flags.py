"""In-process flag answers: the client's equal the server's for every flag of example-repo/
over 10,000 contexts, and the OpenFeature provider through the real openfeature-sdk API."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus

from gitconfig.access.principals import Principal, TokenRegistry
from gitconfig.client import Backoff, Client
from gitconfig.client.openfeature import GitconfigProvider, context_of
from gitconfig.core.model import Environment, Kind
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.runtime.bootstrap import open_service
from gitconfig.runtime.demo import seed
from gitconfig.service import FlagChanges, NewFlag, Service
from tests.conftest import wait_until
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN, tokens

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Principal("admin", frozenset({"admin"}))
AUTH = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
CONTEXTS = 10_000
OVER_THE_WIRE = 150  # of those contexts, also asked through CheckFeatureFlag
FAST = Backoff(0.02, 0.2)


@pytest.fixture
def example(tmp_path: Path) -> Service:
    repo = tmp_path / "example.git"
    seed(ROOT / "example-repo", repo)
    service = open_service(repo)
    service.index.refresh()
    return service


@pytest.fixture
def example_server(example: Service) -> Iterator[GrpcServerThread]:
    with GrpcServerThread(example, tokens()) as running:
        yield running


def contexts(service: Service, count: int) -> list[tuple[str | None, dict[str, str]]]:
    """Random contexts over the attributes and values the flags' rules name (and values next
    to them: other strings, numbers around thresholds, dates), some without a userId."""
    names: dict[str, set[str]] = {}
    for entry in service.reads.snapshot().entries(Kind.FLAG):
        for rule in getattr(entry.document, "rules", ()):
            if rule.bucket_by:
                names.setdefault(rule.bucket_by, set())
            for condition in rule.conditions:
                names.setdefault(condition.attribute, set()).update(condition.values)
    rng = random.Random(14)
    near = ["other", "", "EU-x", "1", "99999999", "2020-01-01", "2031-06-30T12:00:00Z"]
    pools = {name: sorted(values) + near for name, values in names.items()}
    found: list[tuple[str | None, dict[str, str]]] = []
    for _ in range(count):
        attributes = {name: rng.choice(pool) for name, pool in pools.items() if rng.random() < 0.7}
        user_id = None if rng.random() < 0.1 else f"user-{rng.randrange(100_000)}"
        found.append((user_id, attributes))
    return found


@pytest.mark.slow
def test_in_process_answers_equal_the_servers(
    example: Service, example_server: GrpcServerThread
) -> None:
    flags = example.reads.snapshot().entries(Kind.FLAG)
    scopes = sorted({(e.key.application, e.key.environment.value) for e in flags})
    assert len(flags) >= 15
    assert len(scopes) >= 10
    cases = contexts(example, CONTEXTS)
    clients = {
        scope: Client(example_server.address, ADMIN_TOKEN, *scope, backoff=FAST).start()
        for scope in scopes
    }
    compared = 0
    reasons: set[str] = set()
    try:
        with grpc.insecure_channel(example_server.address) as channel:
            stub = config_pb2_grpc.ConfigurationServiceStub(channel)
            for n, (user_id, attributes) in enumerate(cases):
                for entry in flags:
                    app, env, key = (
                        entry.key.application,
                        entry.key.environment.value,
                        entry.key.key,
                    )
                    local = clients[(app, env)].evaluate(key, user_id, attributes)
                    _, served = example.flags.evaluate(ADMIN, app, env, key, user_id, attributes)
                    assert local == served, (key, user_id, attributes)
                    reasons.add(local.reason)
                    compared += 1
                    if n < OVER_THE_WIRE:
                        request = config_pb2.CheckFeatureFlagRequest(
                            key=key,
                            application=app,
                            environment=env,
                            user_id=user_id or "",
                            attributes=attributes,
                        )
                        reply = stub.CheckFeatureFlag(request, metadata=AUTH)
                        value = reply.value if reply.HasField("value") else None
                        wire = (
                            reply.enabled,
                            reply.reason,
                            reply.rule_index if reply.HasField("rule_index") else None,
                            json_format.MessageToDict(value) if value is not None else None,
                        )
                        assert wire == (
                            local.enabled,
                            local.reason,
                            local.rule_index,
                            local.value,
                        ), (key, user_id, attributes)
    finally:
        for client in clients.values():
            client.close()
    assert compared == CONTEXTS * len(flags)
    assert reasons == {"STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED"}


# -- OpenFeature -------------------------------------------------------------------------------

APP = "trading-engine"


@pytest.fixture
def of_service(service: Service) -> Service:
    def flag(key: str, **fields: Any) -> None:
        service.flags.create(
            ADMIN, NewFlag(key=key, application=APP, environment="PROD", description=key, **fields)
        )

    flag(
        "v2",
        enabled=True,
        value={"engine": "v2"},
        rules=[{"attribute": "region", "operator": "IN", "values": ["EU"]}],
    )
    flag("limit", enabled=True, value={"value": 250})
    flag("ratio", enabled=True, value={"value": 0.5})
    flag("banner", enabled=True, value={"value": "hello"})
    flag("off", enabled=False, value={"value": "never"})
    flag("rollout", enabled=True, rules=[{"percentage": 50}])
    return service


@pytest.fixture
def provider_api(of_service: Service) -> Iterator[tuple[GrpcServerThread, GitconfigProvider]]:
    with GrpcServerThread(of_service, tokens()) as server:
        provider = GitconfigProvider(Client(server.address, ADMIN_TOKEN, APP, "PROD", backoff=FAST))
        api.set_provider_and_wait(provider, "gitconfig-test")
        try:
            yield server, provider
        finally:
            api.clear_providers()
            provider.shutdown()


def test_the_provider_resolves_every_type(
    provider_api: tuple[GrpcServerThread, GitconfigProvider],
) -> None:
    _, provider = provider_api
    flags = api.get_client("gitconfig-test")
    assert flags.get_provider_status() is ProviderStatus.READY
    eu = EvaluationContext("desk-7", {"region": "EU"})
    us = EvaluationContext("desk-7", {"region": "US"})

    details = flags.get_boolean_details("v2", False, eu)
    assert (details.value, details.reason, details.variant) == (True, Reason.TARGETING_MATCH, "on")
    assert details.flag_metadata["ruleIndex"] == 0
    assert details.flag_metadata["version"] == 1
    details = flags.get_boolean_details("v2", True, us)
    assert (details.value, details.reason, details.variant) == (False, Reason.DEFAULT, "off")
    assert flags.get_object_value("v2", {"engine": "v1"}, eu) == {"engine": "v2"}
    assert flags.get_object_value("v2", {"engine": "v1"}, us) == {"engine": "v1"}

    assert flags.get_integer_details("limit", 0).value == 250
    assert flags.get_float_value("ratio", 0.0) == 0.5
    assert flags.get_float_value("limit", 0.0) == 250.0
    assert flags.get_string_details("banner", "").reason == Reason.STATIC
    assert flags.get_string_value("banner", "") == "hello"
    off = flags.get_string_details("off", "default")
    assert (off.value, off.reason, off.variant) == ("default", Reason.DISABLED, "off")

    mismatch = flags.get_integer_details("banner", 7)
    assert (mismatch.value, mismatch.error_code) == (7, ErrorCode.TYPE_MISMATCH)
    missing = flags.get_boolean_details("nope", True)
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)

    split = flags.get_boolean_details("rollout", False, EvaluationContext("user-1"))
    assert split.reason == Reason.SPLIT
    expected = provider.client.evaluate("rollout", "user-1").enabled
    assert split.value is expected
    no_user = flags.get_boolean_details("rollout", True, EvaluationContext(None, {}))
    assert (no_user.value, no_user.reason) == (False, Reason.DEFAULT)


def test_context_attributes_become_text() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 2, tzinfo=UTC)
    context = EvaluationContext(
        "u", {"n": 42, "x": 0.5, "b": True, "s": "EU", "l": [1], "d": moment}
    )
    assert context_of(context) == (
        "u",
        {"n": "42", "x": "0.5", "b": "true", "s": "EU", "d": "2026-01-02T00:00:00+00:00"},
    )


def test_the_provider_emits_changes_stale_and_ready(
    of_service: Service, provider_api: tuple[GrpcServerThread, GitconfigProvider]
) -> None:
    server, _provider = provider_api
    flags = api.get_client("gitconfig-test")
    events: list[tuple[ProviderEvent, EventDetails]] = []
    lock = threading.Lock()

    def handler(event: ProviderEvent) -> Any:
        def record(details: EventDetails) -> None:
            with lock:
                events.append((event, details))

        return record

    for event in (
        ProviderEvent.PROVIDER_CONFIGURATION_CHANGED,
        ProviderEvent.PROVIDER_STALE,
        ProviderEvent.PROVIDER_READY,
    ):
        flags.add_handler(event, handler(event))
    with lock:
        events.clear()  # READY is replayed to a handler added after it

    entry = of_service.reads.snapshot().get(Kind.FLAG, APP, Environment.PROD, "v2")
    assert entry is not None
    of_service.flags.update(ADMIN, entry.id, FlagChanges(enabled=False))
    wait_until(lambda: any(e is ProviderEvent.PROVIDER_CONFIGURATION_CHANGED for e, _ in events))
    changed = next(d for e, d in events if e is ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    assert changed.flags_changed == ["v2"]
    assert flags.get_boolean_details(
        "v2", True, EvaluationContext("u", {"region": "EU"})
    ).reason == (Reason.DISABLED)

    port = server.port
    server.stop()
    wait_until(lambda: any(e is ProviderEvent.PROVIDER_STALE for e, _ in events))
    assert flags.get_provider_status() is ProviderStatus.STALE
    assert flags.get_boolean_value("limit", False)  # still answering, from memory
    restarted = GrpcServerThread(of_service, tokens())
    restarted.port = port
    with restarted:
        wait_until(lambda: events[-1][0] is ProviderEvent.PROVIDER_READY)
        assert flags.get_provider_status() is ProviderStatus.READY


def test_the_provider_reports_an_error_when_the_server_refuses_the_client(
    of_service: Service, provider_api: tuple[GrpcServerThread, GitconfigProvider]
) -> None:
    server, _ = provider_api
    flags = api.get_client("gitconfig-test")
    errors: list[EventDetails] = []
    flags.add_handler(ProviderEvent.PROVIDER_ERROR, errors.append)
    port = server.port
    server.stop()
    revoked = TokenRegistry()  # the restarted server no longer knows the client's token
    revoked.add("another-token", "someone", ["read"])
    restarted = GrpcServerThread(of_service, revoked)
    restarted.port = port
    with restarted:
        wait_until(lambda: bool(errors))
        assert errors[-1].message is not None
        assert "UNAUTHENTICATED" in errors[-1].message
        assert flags.get_provider_status() is ProviderStatus.ERROR
        assert flags.get_boolean_value("limit", False)  # still answering from memory
