from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loginguard.factors.totp import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "After rotating SECRET_KEY: encrypt every authenticator app's secret again under "
        "the new key, so the old key can leave SECRET_KEY_FALLBACKS (docs/operations.md, "
        "'Rotating SECRET_KEY'). Safe to run more than once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = secrets_reencrypt()
        self.stdout.write(f"Encrypted {count} authenticator app secret(s) under the "
                          "current SECRET_KEY.")
