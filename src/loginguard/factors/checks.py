"""`loginguard check` warns when passkeys cannot work on this installation: WebAuthn
refuses an IP address as relying party id, so a BASE_URL like http://127.0.0.1:8000
hides every passkey button (SPEC §14)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register


@register("loginguard")
def passkeys_available(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    from django.conf import settings

    from loginguard.factors.passkeys import available

    if available():
        return []
    return [Warning(
        f"BASE_URL ({settings.BASE_URL}) has an IP address for a host, and browsers refuse "
        "passkeys for an IP address: passkeys are unavailable and the pages hide them.",
        hint="Serve loginguard under a host name (http://localhost:8000 for a demo, "
             "https://login.example.com in production) and set BASE_URL to it.",
        id="loginguard.W201")]
