"""`loginguard check` (and start-up: `serve` and `worker` run the checks) refuses a
configuration with registered apps but no signing key, and two different published keys
under one ``kid``."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.db import DatabaseError


@register("loginguard")
def signing_key_present(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from django.conf import settings

    if settings.OAUTH2_PROVIDER.get("OIDC_RSA_PRIVATE_KEY"):
        return []
    from loginguard.sso.models import Client

    try:
        registered = Client.objects.exists()
    except DatabaseError:  # not migrated yet (or no database): nothing registered
        return []
    if not registered:
        return []
    return [Error(
        "Apps are registered for single sign-on but OIDC_PRIVATE_KEY_FILE is not set, so "
        "no ID token can be signed.",
        hint="Make a key with  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 "
             "-out oidc.pem  and set OIDC_PRIVATE_KEY_FILE to its path (docs/sso.md).",
        id="loginguard.E101")]


@register("loginguard")
def key_ids_unique(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Apps pick the key by ``kid``: two keys under one ``kid`` would make them refuse
    every token (or check it against the wrong key)."""
    from loginguard.sso.keys import kid_conflicts, published_pems

    conflicts = kid_conflicts(published_pems())
    if not conflicts:
        return []
    return [Error(
        f"Two different keys of OIDC_PRIVATE_KEY_FILE and OIDC_PUBLISHED_KEY_FILES share "
        f"the key id {conflicts[0]!r}.",
        hint="List each key once: the signing key in OIDC_PRIVATE_KEY_FILE, the next or "
             "previous one in OIDC_PUBLISHED_KEY_FILES (docs/sso.md, 'Rotating the key').",
        id="loginguard.E102")]
