"""Bearer JWTs (Kubernetes service-account tokens, CI OIDC tokens), verified with PyJWT.

Keys are read once from a local file (``--jwt-keys``): a JWKS document (``{"keys": [...]}``)
or a PEM public key; nothing is fetched at request time. A token must carry a valid signature
by one of those keys under an allowed asymmetric algorithm (``none`` and HMAC are never
accepted), and valid ``exp``, ``nbf`` (when present), ``iss`` and ``aud``; its ``sub`` is then
looked up as a subject name of the access file (``access.TokenRegistry``).

Only the keys that can verify the token's algorithm are tried (RFC 7518 section 3: RS*/PS*
take an RSA key, ES256/ES384/ES512 an EC key on P-256/P-384/P-521, EdDSA an Ed25519 or
Ed448 key, RFC 8037), and a JWK that names its own ``alg`` only for that algorithm; so a set
listing an EC key before an RSA key verifies RS256 tokens without ``kid``. Whatever goes
wrong with a credential is ``Unauthenticated`` (401), never an error of the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from gitconfig.core.errors import BadRequest, FieldError, Unauthenticated

ALGORITHMS: Final = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
LEEWAY_SECONDS: Final = 30  # clock skew tolerated on exp and nbf
_CURVES: Final = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


def fits(key: object, algorithm: str) -> bool:
    """Whether ``key`` (a public key object) can verify a signature by ``algorithm``."""
    if algorithm.startswith(("RS", "PS")):
        return isinstance(key, rsa.RSAPublicKey)
    if algorithm in _CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _CURVES[algorithm]
    if algorithm == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return False


class JwtVerifier:
    """``verifier(token)`` returns the verified token's ``sub``; raises ``Unauthenticated``."""

    def __init__(
        self,
        keys_path: Path,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...] = ALGORITHMS,
    ) -> None:
        unknown = [a for a in algorithms if a not in ALGORITHMS]
        if unknown:
            raise BadRequest(
                "invalid JWT algorithms",
                [FieldError("jwt-algorithms", f"not allowed: {', '.join(unknown)}")],
            )
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self._keys = _load_keys(keys_path)  # (kid or None, key, its JWK alg or None)

    def __call__(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed JWT") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise Unauthenticated(f"JWT algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        candidates = [
            key
            for k, key, only in self._keys
            if (kid is None or k is None or k == kid)
            and (only is None or only == algorithm)
            and fits(key, algorithm)
        ]
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key=key,
                    algorithms=[algorithm],
                    audience=self.audience,
                    issuer=self.issuer,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["exp", "iss", "aud", "sub"]},
                )
            except jwt.InvalidSignatureError:
                continue  # another key of the set may have signed it
            except jwt.PyJWTError as exc:
                raise Unauthenticated(f"JWT rejected: {exc}") from None
            except (TypeError, ValueError) as exc:  # a key PyJWT cannot use for this token
                raise Unauthenticated(f"JWT rejected: {type(exc).__name__}") from None
            subject = claims.get("sub")
            if not isinstance(subject, str) or not subject:
                raise Unauthenticated("JWT has no subject")
            return subject
        raise Unauthenticated("JWT signature does not verify with any configured key")


def _load_keys(path: Path) -> list[tuple[str | None, Any, str | None]]:
    """(kid, public key, the JWK's own ``alg``) from a JWKS file or a PEM public key (no kid,
    no alg). Raises BadRequest."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadRequest("unreadable JWT keys", [FieldError("jwt-keys", str(exc))]) from None
    try:
        if data.lstrip().startswith(b"{"):
            return _jwks(json.loads(data))
        return [(None, serialization.load_pem_public_key(data), None)]
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        message = f"not a JWKS document or a PEM public key: {exc}"
        raise BadRequest("invalid JWT keys", [FieldError("jwt-keys", message)]) from None


def _jwks(document: object) -> list[tuple[str | None, Any, str | None]]:
    """The usable keys of a JWKS document (RFC 7517 section 5), each with its own ``alg``
    when it names one; a key of a type PyJWT cannot use is left out, as ``PyJWKSet`` does.
    Raises ``ValueError`` for a document that is not a key set or has no usable key."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError('a JWKS document is {"keys": [...]}')
    found = []
    for data in keys:
        if not isinstance(data, dict):
            continue
        try:
            jwk = jwt.PyJWK.from_dict(data)
        except jwt.PyJWTError:
            continue
        alg = data.get("alg")
        found.append((jwk.key_id, jwk.key, alg if isinstance(alg, str) else None))
    if not found:
        raise ValueError("no usable key in the set")
    return found
