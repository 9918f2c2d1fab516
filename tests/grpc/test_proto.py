"""The gRPC contract: generated code is up to date, and the seed's own client still works.

The seed's stubs cannot share a process with ours (both define ``config.v1`` in
protobuf's global descriptor pool), so they run in child processes: see
tests/support/seedstub.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, json_format
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from gitconfig.grpc import generate
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from tests.support.seedstub import SEED_PROTO, build_seed_stubs, run_seed_script

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "config.v1.ConfigurationService"
SEED_METHODS = [
    f"/{SERVICE}/GetConfiguration",
    f"/{SERVICE}/GetConfigurations",
    f"/{SERVICE}/CheckFeatureFlag",
    f"/{SERVICE}/StreamConfigurationUpdates",
]

_CONFIG = {
    "key": "max-order-size",
    "value": "250000",
    "valueType": "VALUE_TYPE_NUMBER",
    "version": 2147483647,
    "updatedAt": "2026-11-25T22:11:21.500Z",
}
_SECRET = {
    "key": "db-password",
    "value": "********",
    "valueType": "VALUE_TYPE_SECRET",
    "version": 1,
}
_CONFIG_ADDITIONS = {
    "application": "trading-engine",
    "environment": "PROD",
    "id": "0b7c1b8e-5d0c-5b7e-9d7e-2f1b1c6d9a01",
    "commit": "4a1530f4" * 5,
}

# Every message of the seed, every seed field set, in proto3 JSON form.
SEED_SAMPLES: dict[str, dict[str, Any]] = {
    "GetConfigurationRequest": {
        "key": "max-order-size",
        "application": "trading-engine",
        "environment": "PROD",
    },
    "ConfigurationResponse": _CONFIG,
    "GetConfigurationsRequest": {
        "keys": ["max-order-size", "db-password", "missing"],
        "application": "trading-engine",
        "environment": "PROD",
    },
    "GetConfigurationsResponse": {"configurations": [_CONFIG, _SECRET]},
    "CheckFeatureFlagRequest": {
        "key": "matching-v2",
        "application": "trading-engine",
        "environment": "PROD",
        "userId": "desk-7-42",
        "attributes": {"region": "EU", "plan": "pro", "empty": ""},
    },
    "CheckFeatureFlagResponse": {
        "key": "matching-v2",
        "enabled": True,
        "value": {"engine": "v2", "weight": 0.5, "tags": ["a", "b"], "off": False, "none": None},
        "reason": "TARGETING_MATCH",
    },
    "StreamConfigurationUpdatesRequest": {
        "application": "trading-engine",
        "environment": "PROD",
        "keys": ["max-order-size"],
    },
    "ConfigurationUpdate": {**_CONFIG, "updateType": "UPDATE_TYPE_DELETED"},
}

# Our additions, merged over the seed samples: every added field appears here.
ADDITIONS: dict[str, dict[str, Any]] = {
    "ConfigurationResponse": _CONFIG_ADDITIONS,
    "GetConfigurationsResponse": {"configurations": [{**_CONFIG, **_CONFIG_ADDITIONS}, _SECRET]},
    "CheckFeatureFlagResponse": {"ruleIndex": 0},
    "StreamConfigurationUpdatesRequest": {"resumeAfterCommit": "4a1530f", "includeFlags": True},
    "ConfigurationUpdate": {**_CONFIG_ADDITIONS, "kind": "config", "commitEnd": True},
}


def _ours(name: str) -> dict[str, Any]:
    return {**SEED_SAMPLES[name], **ADDITIONS.get(name, {})}


@pytest.fixture(scope="module")
def seed_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_seed_stubs(tmp_path_factory.mktemp("seed"))


# --- generated code -------------------------------------------------------------------------


def test_committed_code_is_regenerated_unchanged() -> None:
    paths = [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
    result = subprocess.run(
        [sys.executable, "-m", "gitconfig.grpc.generate", "--check"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_reports_every_kind_of_difference(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    written = generate.generate(fresh)
    assert {path.as_posix() for path in written} == {
        "v1/__init__.py",
        "v1/config_pb2.py",
        "v1/config_pb2.pyi",
        "v1/config_pb2_grpc.py",
    }
    committed = tmp_path / "committed"
    shutil.copytree(fresh, committed)
    assert generate.compare(committed, fresh) == []

    module = committed / "v1" / "config_pb2_grpc.py"
    module.write_text(module.read_text().replace("GetConfiguration'", "GetConfig'"))
    (committed / "v1" / "config_pb2.pyi").unlink()
    (committed / "v1" / "stale_pb2.py").write_text("# left behind\n")
    diff = "".join(generate.compare(committed, fresh))
    assert "--- committed/v1/config_pb2_grpc.py" in diff
    assert "-                '/config.v1.ConfigurationService/GetConfig'," in diff
    assert "+++ generated/v1/config_pb2.pyi" in diff
    assert "-# left behind" in diff

    assert generate.check(output_root=committed) != []
    generate.generate(committed)
    assert generate.check(output_root=committed) == []
    assert not (committed / "v1" / "stale_pb2.py").exists()


def test_rewrite_fails_loudly_when_protoc_output_changes_shape() -> None:
    with pytest.raises(generate.GenerationError, match="one module name"):
        generate._rewrite(Path("v1/x_pb2.py"), "from config.v1 import y_pb2 as y\n")
    with pytest.raises(generate.GenerationError, match="unrewritten"):
        generate._rewrite(Path("v1/x_pb2_grpc.py"), "import config\n")


def test_generated_modules_live_in_our_package() -> None:
    assert config_pb2.DESCRIPTOR.name == "config/v1/config.proto"
    assert config_pb2.DESCRIPTOR.package == "config.v1"
    assert config_pb2.ConfigurationResponse.__module__ == "gitconfig.grpc.v1.config_pb2"
    assert config_pb2_grpc.__name__ == "gitconfig.grpc.v1.config_pb2_grpc"
    # No top-level generated ``config.v1`` (config-client, a test dependency, is ``config``).
    assert not [name for name in sys.modules if name.split(".")[:2] == ["config", "v1"]]


def _pin(requirements: list[str], name: str) -> str:
    for requirement in requirements:
        match = re.fullmatch(rf"{re.escape(name)}\s*(>=|==)\s*([\w.]+)(,.*)?", requirement)
        if match:
            return match.group(2)
    return "0"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_pyproject_pins_cover_the_generated_code() -> None:
    """The runtime pins admit no version older than the generated code needs, and the dev
    pin is the exact grpcio-tools that generated it (its output is what --check compares)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    generated = (ROOT / "src/gitconfig/grpc/v1/config_pb2.py").read_text()
    protobuf = re.search(r"^# Protobuf Python Version: ([\d.]+)$", generated, re.MULTILINE)
    grpc_source = (ROOT / "src/gitconfig/grpc/v1/config_pb2_grpc.py").read_text()
    grpcio = re.search(r"^GRPC_GENERATED_VERSION = '([\d.]+)'$", grpc_source, re.MULTILINE)
    assert protobuf
    assert grpcio
    runtime = project["dependencies"]
    assert _version(_pin(runtime, "protobuf")) >= _version(protobuf.group(1))
    assert _version(_pin(runtime, "grpcio")) >= _version(grpcio.group(1))
    assert f"grpcio-tools=={grpcio.group(1)}" in project["optional-dependencies"]["dev"]


# --- wire compatibility with the seed -----------------------------------------------------


def test_seed_proto_is_the_seeds_text_unchanged() -> None:
    digest = hashlib.sha256(SEED_PROTO.read_bytes()).hexdigest()
    assert digest == "8f9eebe7585218cade994b039905300f095f9e810d0abe961e0f28c7509f3b97"


def _seed_descriptor(stubs: Path) -> descriptor_pb2.FileDescriptorProto:
    out = run_seed_script(
        stubs, "print(base64.b64encode(config_pb2.DESCRIPTOR.serialized_pb).decode())"
    )
    return descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(out))


def _our_descriptor() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    config_pb2.DESCRIPTOR.CopyToProto(proto)
    return proto


def test_every_seed_definition_is_unchanged(seed_stubs: Path) -> None:
    seed, ours = _seed_descriptor(seed_stubs), _our_descriptor()
    assert (ours.name, ours.package, ours.syntax) == (seed.name, seed.package, seed.syntax)
    assert ours.dependency == seed.dependency
    assert ours.options == seed.options
    assert list(ours.enum_type) == list(seed.enum_type)

    our_messages = {message.name: message for message in ours.message_type}
    for message in seed.message_type:
        mine = our_messages[message.name]
        assert list(mine.nested_type) == list(message.nested_type), message.name
        assert mine.options == message.options, message.name
        fields = {field.number: field for field in mine.field}
        for field in message.field:
            assert fields[field.number] == field, f"{message.name}.{field.name}"
        seed_numbers = {field.number for field in message.field}
        added = [field for field in mine.field if field.number not in seed_numbers]
        by_name = config_pb2.DESCRIPTOR.message_types_by_name[message.name].fields_by_name
        for field in added:
            assert by_name[field.name].json_name in ADDITIONS.get(message.name, {}), (
                f"give {message.name}.{field.name} a sample value in ADDITIONS"
            )

    our_services = {service.name: service for service in ours.service}
    for service in seed.service:
        methods = {method.name: method for method in our_services[service.name].method}
        for method in service.method:
            assert methods[method.name] == method, f"{service.name}.{method.name}"


class _RecordingChannel:
    """Collects the method paths a stub is built with."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def _record(self, path: str, **_: Any) -> None:
        self.paths.append(path)

    unary_unary = unary_stream = stream_unary = stream_stream = _record


def test_method_full_names_are_the_seeds(seed_stubs: Path) -> None:
    out = run_seed_script(
        seed_stubs,
        """
        class Recording:
            def __init__(self):
                self.paths = []
            def _record(self, path, **_):
                self.paths.append(path)
            unary_unary = unary_stream = stream_unary = stream_stream = _record
        channel = Recording()
        config_pb2_grpc.ConfigurationServiceStub(channel)
        print(json.dumps(channel.paths))
        """,
    )
    assert json.loads(out) == SEED_METHODS
    channel = _RecordingChannel()
    config_pb2_grpc.ConfigurationServiceStub(channel)
    assert channel.paths[: len(SEED_METHODS)] == SEED_METHODS


def _encode(message: Message) -> str:
    return base64.b64encode(message.SerializeToString(deterministic=True)).decode()


def _parse(name: str, data: str) -> Message:
    message: Message = getattr(config_pb2, name).FromString(base64.b64decode(data))
    return message


def test_seed_messages_parse_as_ours(seed_stubs: Path) -> None:
    out = run_seed_script(
        seed_stubs,
        """
        samples = json.load(sys.stdin)
        encoded = {}
        for name, sample in samples.items():
            message = json_format.ParseDict(sample, getattr(config_pb2, name)())
            encoded[name] = base64.b64encode(message.SerializeToString()).decode()
        print(json.dumps(encoded))
        """,
        stdin=json.dumps(SEED_SAMPLES),
    )
    encoded = json.loads(out)
    assert set(encoded) == set(SEED_SAMPLES)
    for name, data in encoded.items():
        message = _parse(name, data)
        assert json_format.MessageToDict(message) == SEED_SAMPLES[name], name
        assert len(UnknownFieldSet(message)) == 0, name
    request = _parse(
        "StreamConfigurationUpdatesRequest", encoded["StreamConfigurationUpdatesRequest"]
    )
    assert isinstance(request, config_pb2.StreamConfigurationUpdatesRequest)
    assert not request.HasField("resume_after_commit")
    assert not request.include_flags


def test_our_messages_parse_as_the_seeds(seed_stubs: Path) -> None:
    ours = {
        name: _encode(json_format.ParseDict(_ours(name), getattr(config_pb2, name)()))
        for name in SEED_SAMPLES
    }
    out = run_seed_script(
        seed_stubs,
        """
        seen, passed_on = {}, {}
        for name, data in json.load(sys.stdin).items():
            message = getattr(config_pb2, name).FromString(base64.b64decode(data))
            seen[name] = json_format.MessageToDict(message)
            passed_on[name] = base64.b64encode(message.SerializeToString()).decode()
        print(json.dumps({"seen": seen, "passed_on": passed_on}))
        """,
        stdin=json.dumps(ours),
    )
    result = json.loads(out)
    assert result["seen"] == SEED_SAMPLES
    # A seed client keeps the fields it does not know, so it can pass our messages on whole.
    for name, data in result["passed_on"].items():
        assert json_format.MessageToDict(_parse(name, data)) == _ours(name), name


# --- the seed's client against a real grpc.aio server ------------------------------------


class _EchoServicer(config_pb2_grpc.ConfigurationServiceServicer):
    """A stand-in server that answers from the samples and records what it was sent."""

    def __init__(self) -> None:
        self.requests: list[Message] = []

    def _reply(self, name: str, request: Message) -> Any:
        self.requests.append(request)
        return json_format.ParseDict(_ours(name), getattr(config_pb2, name)())

    async def GetConfiguration(self, request: Message, context: Any) -> Any:
        return self._reply("ConfigurationResponse", request)

    async def GetConfigurations(self, request: Message, context: Any) -> Any:
        return self._reply("GetConfigurationsResponse", request)

    async def CheckFeatureFlag(self, request: Message, context: Any) -> Any:
        return self._reply("CheckFeatureFlagResponse", request)

    async def StreamConfigurationUpdates(
        self, request: Message, context: Any
    ) -> AsyncIterator[Any]:
        for _ in range(2):
            yield self._reply("ConfigurationUpdate", request)


_SEED_CLIENT = """
samples = json.load(sys.stdin)
def call(name):
    return json_format.ParseDict(samples[name], getattr(config_pb2, name)())
with grpc.insecure_channel(ADDRESS) as channel:
    stub = config_pb2_grpc.ConfigurationServiceStub(channel)
    replies = [
        stub.GetConfiguration(call("GetConfigurationRequest"), timeout=10),
        stub.GetConfigurations(call("GetConfigurationsRequest"), timeout=10),
        stub.CheckFeatureFlag(call("CheckFeatureFlagRequest"), timeout=10),
        *stub.StreamConfigurationUpdates(call("StreamConfigurationUpdatesRequest"), timeout=10),
    ]
print(json.dumps([json_format.MessageToDict(reply) for reply in replies]))
"""


def test_seed_client_talks_to_a_grpc_aio_server(seed_stubs: Path) -> None:
    servicer = _EchoServicer()

    async def scenario() -> str:
        server = grpc.aio.server()
        config_pb2_grpc.add_ConfigurationServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            return await asyncio.to_thread(
                run_seed_script,
                seed_stubs,
                _SEED_CLIENT,
                address=f"127.0.0.1:{port}",
                stdin=json.dumps(SEED_SAMPLES),
            )
        finally:
            await server.stop(grace=None)

    replies = json.loads(asyncio.run(scenario()))
    assert replies == [
        SEED_SAMPLES["ConfigurationResponse"],
        SEED_SAMPLES["GetConfigurationsResponse"],
        SEED_SAMPLES["CheckFeatureFlagResponse"],
        SEED_SAMPLES["ConfigurationUpdate"],
        SEED_SAMPLES["ConfigurationUpdate"],
    ]
    received = [json_format.MessageToDict(request) for request in servicer.requests[:4]]
    assert received == [
        SEED_SAMPLES["GetConfigurationRequest"],
        SEED_SAMPLES["GetConfigurationsRequest"],
        SEED_SAMPLES["CheckFeatureFlagRequest"],
        SEED_SAMPLES["StreamConfigurationUpdatesRequest"],
    ]
