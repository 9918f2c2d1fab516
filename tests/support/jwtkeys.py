"""A throwaway RSA key per test run and the JWTs it signs, for the tests of bearer JWTs: the
issuer and audience the server is configured with, and an access file naming the CI subject
(a writer of payments in DEV)."""

from __future__ import annotations

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.accessdata import ACCESS_FILE

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
