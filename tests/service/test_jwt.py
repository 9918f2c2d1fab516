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

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gitconfig.access.principals import TokenRegistry
from gitconfig.core.errors import BadRequest
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.rest.app import create_app
from gitconfig.runtime.bootstrap import open_service
from gitconfig.runtime.security import SecurityOptions, build_tokens
from gitconfig.service import Service
from tests.support.accessdata import seed
from tests.support.jwtkeys import (
    ACCESS,
    AUDIENCE,
    CI_SUBJECT,
    ISSUER,
    KEY,
    OTHER_KEY,
    claims,
    sign,
)
from tests.support.servers import GrpcServerThread


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
    body = {
        "key": "from-ci",
        "application": "payments",
        "environment": "DEV",
        "valueType": "STRING",
        "value": "x",
    }
    created = client.post(
        "/configs", json=body, headers={"Authorization": f"Bearer {sign(claims())}"}
    )
    assert created.status_code == 201
    assert created.json()["createdBy"] == CI_SUBJECT


def _none_token() -> str:
    return jwt.encode(claims(), key="", algorithm="none")  # "none": unsigned, the key unused


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
            ),
            environ={},
        )


def _pem(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _jwk(public: Any, **extra: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm
    return {**json.loads(algorithm.to_jwk(public)), **extra}


def _app(service: Service, tmp_path: Path, keys: bytes) -> TokenRegistry:
    (tmp_path / "access.yaml").write_text(ACCESS)
    (tmp_path / "keys").write_bytes(keys)
    options = SecurityOptions(
        access_file=tmp_path / "access.yaml",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_keys=tmp_path / "keys",
    )
    return build_tokens(options, environ={})


EC_KEY = ec.generate_private_key(ec.SECP256R1())


def test_a_key_set_with_an_ec_key_first_still_verifies_rs256_without_kid(
    bare_repo: Path, tmp_path: Path
) -> None:
    """The keys that fit the token's algorithm are tried (an EC key cannot verify RS256),
    and a JWK naming its own alg only for that algorithm."""
    service = open_service(bare_repo)
    service.index.refresh()
    seed(service)
    keys = {
        "keys": [
            _jwk(EC_KEY.public_key()),
            _jwk(OTHER_KEY.public_key(), alg="RS512"),  # RSA, but only for RS512
            _jwk(KEY.public_key()),
        ]
    }
    tokens = _app(service, tmp_path, json.dumps(keys).encode())
    token = jwt.encode(claims(), KEY, algorithm="RS256")  # no kid
    with TestClient(create_app(service, tokens)) as client:
        assert lookup(client, token) == 200
        forged = jwt.encode(claims(), OTHER_KEY, algorithm="RS256")  # its key is RS512-only
        assert lookup(client, forged) == 401
        ec_token = jwt.encode(claims(), EC_KEY, algorithm="ES256")
        assert lookup(client, ec_token) == 200


def test_a_key_of_the_wrong_type_is_401_at_every_door(bare_repo: Path, tmp_path: Path) -> None:
    """An EC key configured, RS256 and EdDSA tokens presented: PyJWT raised TypeError (a
    500, gRPC INTERNAL); any credential problem is 401 / UNAUTHENTICATED."""
    service = open_service(bare_repo)
    service.index.refresh()
    seed(service)
    tokens = _app(service, tmp_path, _pem(EC_KEY.public_key()))
    wrong = [
        jwt.encode(claims(), KEY, algorithm="RS256"),
        jwt.encode(claims(), ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA"),
        jwt.encode(claims(), ec.generate_private_key(ec.SECP384R1()), algorithm="ES384"),
    ]
    body = {"context": {"targetingKey": "u"}}
    with TestClient(create_app(service, tokens)) as client:
        for token in wrong:
            headers = {"Authorization": f"Bearer {token}"}
            assert lookup(client, token) == 401  # the read fast path
            assert client.get("/configs", headers=headers).status_code == 401  # a route
            ofrep = client.post(
                "/ofrep/payments/DEV/ofrep/v1/evaluate/flags", json=body, headers=headers
            )
            assert ofrep.status_code == 401
    request = config_pb2.GetConfigurationsRequest(application="payments", environment="DEV")
    with (
        GrpcServerThread(service, tokens) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        for token in wrong:
            with pytest.raises(grpc.RpcError) as raised:
                stub.GetConfigurations(request, metadata=(("authorization", f"Bearer {token}"),))
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
