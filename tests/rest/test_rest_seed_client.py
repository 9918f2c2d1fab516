"""A client generated from the seed's OpenAPI (``openapi-python-client``, as a team using the
seed would generate it) calls every operation against a real server and parses every
answer: no field may be null where the seed's schema says object or string (issue 9)."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gitconfig.access.principals import TokenRegistry
from gitconfig.rest.app import create_app
from gitconfig.service import Service
from tests.support.servers import UvicornThread
from tests.support.tokens import ADMIN_TOKEN

pytestmark = pytest.mark.slow  # generates and runs a client in child processes

SEED_OPENAPI = Path(__file__).parents[1] / "data" / "seed_openapi.yaml"
PACKAGE = "seed_openapi_client"


@pytest.fixture(scope="module")
def seed_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator is not None, "openapi-python-client is a dev dependency"
    root = tmp_path_factory.mktemp("generated")
    subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(SEED_OPENAPI),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
        ],
        check=True,
        capture_output=True,
        cwd=root,
    )
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def op(group: str, name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{group}.{name}")


def call(module: Any, client: Any, status: int = 200, **kwargs: Any) -> Any:
    response = module.sync_detailed(client=client, **kwargs)
    assert response.status_code == status, response.content
    if status != 204:
        assert response.parsed is not None  # the seed's own parser read the answer
    return response.parsed


def test_every_operation_parses(seed_client: ModuleType, service: Service) -> None:
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    models = importlib.import_module(f"{PACKAGE}.models")
    with (
        UvicornThread(create_app(service, tokens)) as server,
        seed_client.AuthenticatedClient(
            base_url=server.url, token=ADMIN_TOKEN, raise_on_unexpected_status=True
        ) as client,
    ):
        run_every_operation(client, models)


def run_every_operation(client: Any, models: Any) -> None:
    # Configurations: a value without a description, schema or tags (no nulls for them).
    created = call(
        op("configurations", "create_configuration"),
        client,
        201,
        body=models.CreateConfigurationRequest(
            key="k",
            application="app",
            environment=models.CreateConfigurationRequestEnvironment.DEV,
            value_type=models.CreateConfigurationRequestValueType.NUMBER,
            value="1",
        ),
    )
    config_id = created.id
    listed = call(op("configurations", "list_configurations"), client, application="app")
    assert [c.key for c in listed.content] == ["k"]
    value = call(
        op("configurations", "lookup_configuration"),
        client,
        key="k",
        application="app",
        environment=models.LookupConfigurationEnvironment.DEV,
    )
    assert value.value == "1"
    call(op("configurations", "get_configuration"), client, config_id=config_id)
    call(
        op("configurations", "update_configuration"),
        client,
        config_id=config_id,
        body=models.UpdateConfigurationRequest(value="2"),
    )
    versions = call(op("configurations", "get_configuration_versions"), client, config_id=config_id)
    assert [v.version for v in versions] == [1, 2]
    call(
        op("configurations", "get_configuration_version"),
        client,
        config_id=config_id,
        version_id="1",
    )
    rolled = call(
        op("configurations", "rollback_configuration"),
        client,
        config_id=config_id,
        version_id="1",
    )
    assert rolled.value == "1"

    # Flags: one without a value (the seed's value is an object: absent, not null).
    flag = call(
        op("feature_flags", "create_feature_flag"),
        client,
        201,
        body=models.CreateFeatureFlagRequest(
            key="f",
            application="app",
            environment=models.CreateFeatureFlagRequestEnvironment.DEV,
            description="d",
            enabled=True,
        ),
    )
    call(op("feature_flags", "get_feature_flag"), client, flag_id=flag.id)
    flags = call(op("feature_flags", "list_feature_flags"), client, application="app")
    assert [f.key for f in flags.content] == ["f"]
    call(
        op("feature_flags", "update_feature_flag"),
        client,
        flag_id=flag.id,
        body=models.UpdateFeatureFlagRequest(description="still d"),
    )
    check = call(
        op("feature_flags", "check_feature_flag"),
        client,
        key="f",
        application="app",
        environment=models.CheckFeatureFlagEnvironment.DEV,
    )
    assert check.enabled is True
    call(op("configurations", "delete_configuration"), client, 204, config_id=config_id)
