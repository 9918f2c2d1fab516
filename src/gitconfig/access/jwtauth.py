"""Bearer JWTs (Kubernetes service-account tokens, CI OIDC tokens), verified with PyJWT.

Keys are read once from a local file (``--jwt-keys``): a JWKS document (``{"keys": [...]}``)
or a PEM public key; nothing is fetched at request time. A token must carry a valid signature
by one of those keys under an allowed asymmetric algorithm (``none`` and HMAC are never
accepted), and valid ``exp``, ``nbf`` (when present), ``iss`` and ``aud``; its ``sub`` is then
looked up as a subject name of the access file (``access.TokenRegistry``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization

from gitconfig.core.errors import BadRequest, FieldError, Unauthenticated

ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                     "ES512", "EdDSA")  # fmt: skip
LEEWAY_SECONDS: Final = 30  # clock skew tolerated on exp and nbf


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
        self._keys = _load_keys(keys_path)  # kid (None: any) -> key

    def __call__(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed JWT") from None
        if header.get("alg") not in self.algorithms:
            raise Unauthenticated(f"JWT algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        candidates = [key for k, key in self._keys if kid is None or k is None or k == kid]
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key=key,
                    algorithms=self.algorithms,
                    audience=self.audience,
                    issuer=self.issuer,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["exp", "iss", "aud", "sub"]},
                )
            except jwt.InvalidSignatureError:
                continue  # another key of the set may have signed it
            except jwt.PyJWTError as exc:
                raise Unauthenticated(f"JWT rejected: {exc}") from None
            subject = claims.get("sub")
            if not isinstance(subject, str) or not subject:
                raise Unauthenticated("JWT has no subject")
            return subject
        raise Unauthenticated("JWT signature does not verify with any configured key")


def _load_keys(path: Path) -> list[tuple[str | None, Any]]:
    """(kid, public key) pairs from a JWKS file or a PEM public key. Raises BadRequest."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadRequest("unreadable JWT keys", [FieldError("jwt-keys", str(exc))]) from None
    try:
        if data.lstrip().startswith(b"{"):
            document = json.loads(data)
            jwk_set = jwt.PyJWKSet.from_dict(document)
            return [(key.key_id, key.key) for key in jwk_set.keys]
        return [(None, serialization.load_pem_public_key(data))]
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        message = f"not a JWKS document or a PEM public key: {exc}"
        raise BadRequest("invalid JWT keys", [FieldError("jwt-keys", message)]) from None
