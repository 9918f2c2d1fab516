"""``gitconfig serve`` keeps revealed secrets out of core dumps: started with core dumps
allowed (``ulimit -c unlimited``), the server runs with a core size limit of 0, unless told
``--allow-core-dumps``."""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import Launcher, init_served


def _core_limit(pid: int) -> tuple[str, str]:
    """The (soft, hard) ``Max core file size`` of process ``pid`` (proc(5))."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            soft, hard = line.split()[4:6]
            return soft, hard
    raise AssertionError(f"no core limit in /proc/{pid}/limits")


@pytest.fixture
def cores_allowed() -> Iterator[None]:
    """This process (and so the servers it starts) may dump core of any size."""
    saved = resource.getrlimit(resource.RLIMIT_CORE)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
    except (ValueError, OSError):
        pytest.skip("cannot raise the core size limit here (not root)")
    yield
    resource.setrlimit(resource.RLIMIT_CORE, saved)


@pytest.mark.usefixtures("cores_allowed")
def test_the_server_turns_core_dumps_off_unless_allowed(launch: Launcher, tmp_path: Path) -> None:
    repo = init_served(tmp_path / "config.git")
    guarded = launch(repo, grpc=False)
    allowed = launch(repo, "--allow-core-dumps", grpc=False, name="allowed")
    assert _core_limit(guarded.pid) == ("0", "0")
    assert _core_limit(allowed.pid) == ("unlimited", "unlimited")
