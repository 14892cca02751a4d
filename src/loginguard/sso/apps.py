from __future__ import annotations

from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "loginguard.sso"
    label = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from loginguard.sso import checks, sessions  # noqa: F401  (registers the hooks)
