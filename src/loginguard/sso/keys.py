"""The provider's signing and published keys (SPEC §11, docs/sso.md "Rotating the key"):
each published once under its ``kid`` (the RFC 7638 thumbprint, as the toolkit signs with),
and every published key accepted when loginguard reads back a token it signed (an
``id_token_hint`` from before a rotation)."""

from __future__ import annotations

import json
from typing import Any

from jwcrypto import jwk, jwt
from jwcrypto.common import JWException
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem


def published_pems() -> list[str]:
    """The signing key first, then the keys published without signing."""
    signing = oauth2_settings.OIDC_RSA_PRIVATE_KEY
    return [pem for pem in (signing, *oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE) if pem]


def key_id(key: jwk.JWK) -> str:
    return str(key.thumbprint())


def published_keys() -> jwk.JWKSet:
    """Every published key once, by ``kid``."""
    keys, seen = jwk.JWKSet(), set()
    for pem in published_pems():
        key = jwk_from_pem(pem)
        if key_id(key) not in seen:
            seen.add(key_id(key))
            keys.add(key)
    return keys


def kid_conflicts(pems: list[str]) -> list[str]:
    """The ``kid``s that two different public keys share (a key file listed twice is the
    same key, and fine)."""
    public: dict[str, str] = {}
    conflicts = []
    for pem in pems:
        key = jwk_from_pem(pem)
        kid, exported = key_id(key), key.export_public()
        if public.setdefault(kid, exported) != exported:
            conflicts.append(kid)
    return conflicts


def verified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT this provider signed with any published key, or None. An
    expired token is accepted where the toolkit's logout setting says so (an
    ``id_token_hint`` may be old: RP-Initiated Logout 1.0 §2)."""
    check: dict[str, Any] | None = \
        {} if oauth2_settings.OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS else None
    try:
        verified = jwt.JWT(jwt=token, key=published_keys(), check_claims=check,
                           expected_type="JWS")
        claims = json.loads(verified.claims)
    except (JWException, ValueError, TypeError, KeyError):
        return None
    return claims if isinstance(claims, dict) else None
