"""What a credential change revokes, decided in one place (issue 12): a password change
or reset, an email change and a deactivation all call ``credentials_revoke``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loginguard.apitokens.services import api_tokens_revoke_all
from loginguard.codes.services import codes_revoke_all
from loginguard.devices.services import trusted_devices_revoke_all
from loginguard.signin.sessions import sessions_end_all

if TYPE_CHECKING:
    from loginguard.devices.models import TrustedDevice
    from loginguard.users.models import User

# reason -> (end sessions, revoke pending codes, revoke API tokens). Trusted devices are
# revoked by every one of them (SPEC §2.3); pending sign-ins die with the codes, and with
# the password hash they carry when the password changed (signin.pending).
RULES = {
    "password_reset": (True, True, True),      # the "I was compromised" path
    "password_changed": (True, True, False),   # tokens only when the user asks
    "email_changed": (False, False, False),
    "deactivated": (True, True, True),
}


def credentials_revoke(*, user: User, reason: str, keep_session_key: str | None = None,
                       keep_device: TrustedDevice | None = None,
                       revoke_tokens: bool = False) -> None:
    """Revoke what ``reason`` revokes; a change the user made keeps the session and the
    device they made it from. Call inside the change's transaction."""
    sessions, codes, tokens = RULES[reason]
    if sessions:
        sessions_end_all(user=user, keep_session_key=keep_session_key)
    trusted_devices_revoke_all(user=user, keep=keep_device, reason=reason)
    if codes:
        codes_revoke_all(user=user)
    if tokens or revoke_tokens:
        api_tokens_revoke_all(user=user, reason=reason)
