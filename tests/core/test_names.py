"""Names every checkout can hold: a file name of at most 255 bytes and no Windows device
names, refused at every door (REST, CLI, validator and hooks, the index)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitconfig.core import paths, validator
from gitconfig.runtime.bootstrap import open_service
from gitconfig.service import Service
from tests.support.clirun import gitconfig, served_and_clone
from tests.support.gitrepo import clone, commit_files, push
from tests.support.refusal import unchanged

DEVICES = ["aux", "AUX", "Aux", "con", "prn", "nul", "NUL.txt", "com1", "COM9.tar.gz", "lpt0"]
DEVICES += ["aux.yaml.bak", "CON.json"]
FINE = ["auxiliary", "con-limit", "nul_", "com10", "lpt", "a" * 250, "console"]


@pytest.mark.parametrize("name", DEVICES)
def test_windows_device_names_are_refused(name: str) -> None:
    assert paths.key_error(name) is not None
    assert paths.application_error(name[:100]) is not None
    assert paths.is_windows_device(name)


@pytest.mark.parametrize("name", FINE)
def test_other_names_are_fine(name: str) -> None:
    assert paths.key_error(name) is None
    assert not paths.is_windows_device(name)


def test_file_names_fit_in_255_bytes() -> None:
    assert paths.key_error("a" * 250) is None
    assert len(("a" * 250 + ".yaml").encode()) == 255
    error = paths.key_error("a" * 251)
    assert error is not None
    assert "255 bytes" in error.message
    assert paths.is_schema_path("schemas/" + "s" * 250 + ".json")
    assert not paths.is_schema_path("schemas/" + "s" * 251 + ".json")
    assert paths.application_error("app.") is not None  # Windows drops a folder's last dot


@pytest.mark.parametrize("key", ["a" * 251, "aux", "Com1.v2"])
def test_rest_refuses(client: TestClient, service: Service, key: str) -> None:
    body = {"key": key, "application": "app", "environment": "DEV"}
    kept = unchanged(service)
    config = client.post("/configs", json=body | {"valueType": "STRING", "value": "v"})
    assert config.status_code == 400, config.text
    assert config.json()["errors"][0]["field"] == "key"
    flag = client.post("/feature-flags", json=body | {"description": "d"})
    assert flag.status_code == 400
    app = client.post(
        "/configs",
        json=body | {"key": "k", "application": "nul", "valueType": "STRING", "value": "v"},
    )
    assert app.json()["errors"][0]["field"] == "application"
    kept.check()


def test_cli_refuses(tmp_path: Path) -> None:
    _, work = served_and_clone(tmp_path)
    kept = unchanged(work)
    result = gitconfig("set", "aux", "v", "-a", "app", "-e", "DEV", repo=work)
    assert result.exit_code == 1
    assert "Windows device name" in result.output
    result = gitconfig("set", "a" * 251, "v", "-a", "app", "-e", "DEV", repo=work)
    assert result.exit_code == 1
    assert "255 bytes" in result.output
    kept.check()


@pytest.mark.parametrize(
    "path",
    [
        "configs/app/DEV/aux.yaml",
        "configs/con/DEV/k.yaml",
        "flags/app/DEV/" + "f" * 251 + ".yaml",
        "schemas/nul.json",
    ],
)
def test_validator_and_index_refuse(bare_repo: Path, tmp_path: Path, path: str) -> None:
    content = b"{}" if path.endswith(".json") else b"type: STRING\nvalue: v\n"
    if path.startswith("flags/"):
        content = b"description: d\n"
    findings = validator.validate_files({path: content})
    assert [f.path for f in findings] == [path], findings
    if path.startswith("schemas/") or len(path.rsplit("/", 1)[1]) > 255:
        return  # (such a file cannot even be written in a checkout here: the point)
    work = clone(bare_repo, tmp_path / "work")
    commit_files(work, {path: content.decode()}, "around the hooks")
    push(work)
    service = open_service(bare_repo)
    service.index.refresh()
    assert path in service.index.current().problems


def test_filter_errors_checks_only_the_filters_given() -> None:
    assert paths.filter_errors(None, None) == []
    assert paths.filter_errors("trading-engine", "PROD") == []
    fields = [error.field for error in paths.filter_errors("bad name!", "NOWHERE")]
    assert fields == ["application", "environment"]
    assert [error.field for error in paths.filter_errors(None, "NOWHERE")] == ["environment"]
