"""Bearer JWTs verified with PyJWT against local keys (a throwaway RSA key per test run):
the subject is looked up in the access file; anything not exactly right is 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from gitconfig.core.errors import BadRequest
from gitconfig.rest.app import create_app
from gitconfig.runtime.bootstrap import open_service
from gitconfig.runtime.security import SecurityOptions, build_tokens
from tests.support.accessdata import ACCESS_FILE, seed

ISSUER = "https://ci.example.com"
AUDIENCE = "gitconfig"
CI_SUBJECT = "repo:acme/payments:ref:refs/heads/main"
ACCESS = (
    ACCESS_FILE
    + f"  - name: {CI_SUBJECT}\n"
    + "    grants:\n      - {role: writer, applications: [payments], environments: [DEV]}\n"
)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = new_key()
OTHER_KEY = new_key()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": CI_SUBJECT, "iat": now, "exp": now + 300}
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def sign(payload: dict[str, Any], key: rsa.RSAPrivateKey = KEY, kid: str = "k1") -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(params=["jwks", "pem"])
def client(request: pytest.FixtureRequest, bare_repo: Path, tmp_path: Path) -> Iterator[TestClient]:
    service = open_service(bare_repo)
    service.index.refresh()
    seed(service)
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS)
    keys = tmp_path / "keys"
    public = KEY.public_key()
    if request.param == "jwks":
        jwk = json.loads(RSAAlgorithm.to_jwk(public))
        keys.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]}))
    else:
        keys.write_bytes(
            public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    options = SecurityOptions(
        access_file=access, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_keys=keys
    )
    app = create_app(service, build_tokens(options, environ={}))
    with TestClient(app) as test_client:
        yield test_client


def lookup(client: TestClient, token: str, env: str = "DEV") -> int:
    params = {"key": "limit", "application": "payments", "environment": env}
    headers = {"Authorization": f"Bearer {token}"}
    return client.get("/configs/lookup", params=params, headers=headers).status_code


def test_a_valid_jwt_acts_as_its_subject(client: TestClient) -> None:
    assert lookup(client, sign(claims())) == 200
    assert lookup(client, sign(claims()), env="PROD") == 403  # outside the subject's grants
    body = {"key": "from-ci", "application": "payments", "environment": "DEV",
            "valueType": "STRING", "value": "x"}  # fmt: skip
    created = client.post(
        "/configs", json=body, headers={"Authorization": f"Bearer {sign(claims())}"}
    )
    assert created.status_code == 201
    assert created.json()["createdBy"] == CI_SUBJECT


def _none_token() -> str:
    return jwt.encode(claims(), key=None, algorithm="none")


def _hmac_with_public_key() -> str:
    pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    signature = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _odd_header(header: bytes) -> str:
    """A token whose header is ``header`` (it must start ``{"`` to look like a JWT)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(json.dumps(claims()).encode())}.{b64(b'signature')}"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _odd_header(b'{"a": ' + b"[" * 3000 + b"]" * 3000 + b"}"), id="deep"),
        pytest.param(lambda: _odd_header(b'{"alg": ["RS256"], "kid": {"a": 1}}'), id="odd-types"),
        pytest.param(lambda: _odd_header(b'{"alg": "RS256", "kid": "k1"'), id="truncated"),
        pytest.param(lambda: "eyJ." + "!" * 40 + ".x", id="not-base64"),
        pytest.param(lambda: sign(claims(exp=int(time.time()) - 3600)), id="expired"),
        pytest.param(lambda: sign(claims(nbf=int(time.time()) + 3600)), id="not-yet-valid"),
        pytest.param(lambda: sign(claims(aud="someone-else")), id="wrong-audience"),
        pytest.param(lambda: sign(claims(iss="https://evil.example.com")), id="wrong-issuer"),
        pytest.param(lambda: sign(claims(exp=None)), id="no-exp"),
        pytest.param(lambda: sign(claims(), key=OTHER_KEY), id="wrong-key"),
        pytest.param(_none_token, id="alg-none"),
        pytest.param(_hmac_with_public_key, id="hs256-with-the-public-key"),
        pytest.param(lambda: sign(claims(sub="unknown-subject")), id="unknown-subject"),
        pytest.param(lambda: sign(claims())[:-4] + "AAAA", id="tampered"),
    ],
)
def test_a_bad_jwt_is_401(client: TestClient, token: Any) -> None:
    assert lookup(client, token()) == 401


def test_jwt_settings_are_checked_at_start(tmp_path: Path) -> None:
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS)
    with pytest.raises(BadRequest):
        build_tokens(SecurityOptions(access_file=access, jwt_issuer=ISSUER), environ={})
    bad_keys = tmp_path / "keys.pem"
    bad_keys.write_text("not a key")
    with pytest.raises(BadRequest):
        build_tokens(
            SecurityOptions(
                access_file=access, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_keys=bad_keys
            ),  # fmt: skip
            environ={},
        )
