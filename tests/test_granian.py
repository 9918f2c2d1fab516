"""`gitconfig serve --http-server granian`: the REST API on granian, for real (a process, a
socket, HTTP/1.1 from httpx), with the same answers, request ids and a clean stop."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.serve import AUTH, Launcher, init_served

pytest.importorskip("granian")  # in the dev extra; an optional extra of the package

LOOKUP = {"key": "limit", "application": "payments", "environment": "PROD"}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_lookup_served_by_granian(launch: Launcher, tmp_path: Path, workers: str) -> None:
    repo = init_served(tmp_path / "config.git")
    server = launch(
        repo, "--http-server", "granian", "--shutdown-grace", "0", workers=int(workers), ready=False
    )
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base, headers=AUTH, timeout=10) as http:
            body = {**LOOKUP, "valueType": "NUMBER", "value": "5"}
            assert http.post("/configs", json=body).status_code == 201
            for n in range(3):  # computed, then kept by the fast path
                sent = {"X-Request-ID": f"granian-{n}"}
                answer = http.get("/configs/lookup", params=LOOKUP, headers=sent)
                assert answer.status_code == 200, answer.text
                assert answer.content == (
                    b'{"key":"limit","value":"5","valueType":"NUMBER","version":1}'
                )
                assert answer.headers["etag"] == '"1"'
                assert answer.headers["x-request-id"] == f"granian-{n}"
                assert answer.headers["server"] == "granian"
            plain = http.get("/configs/lookup", params=LOOKUP)  # the kept answer's own headers
            assert plain.status_code == 200
            assert "x-request-id" not in plain.headers
            assert plain.headers["etag"] == '"1"'
            assert plain.headers["content-length"] == str(len(plain.content))
            missing = http.get("/configs/lookup", params={**LOOKUP, "key": "nope"})
            assert missing.status_code == 404
            assert (
                http.get(
                    "/configs/lookup", params=LOOKUP, headers={"Authorization": ""}
                ).status_code
                == 401
            )
        assert server.stop() == 0
    finally:
        server.kill()
    assert "Traceback" not in server.stderr.read_text()
