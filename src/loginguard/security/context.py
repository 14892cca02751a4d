from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest

from loginguard.access.logs import own_security_log
from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.services import DEFAULT_EXPIRY_DAYS, EXPIRY_DAYS
from loginguard.devices.models import TrustedDevice
from loginguard.factors import passkeys, recovery
from loginguard.factors.models import AuthenticatorApp, Passkey
from loginguard.factors.policy import LABELS
from loginguard.factors.registry import kinds
from loginguard.lib import clock
from loginguard.security.unlock import unlocked_until
from loginguard.signin.models import UserSession
from loginguard.sso.selectors import connected_apps
from loginguard.tenancy.policy import factor_level_for
from loginguard.users.models import User, UserKind

LOG_PAGE_SIZE = 20


def security_context(request: HttpRequest, target: User) -> dict[str, Any]:
    """What the Security section shows: nothing but who can unlock it on somebody else's
    record; the unlock form while locked; everything once unlocked."""
    own = request.user.pk == target.pk
    until = unlocked_until(request) if own else None
    if until is None:
        if not own:
            return {"security_unlocked": False}
        keys = kinds(target)
        return {"security_unlocked": False, "passkeys": passkeys.available(),
                "unlock_factors": {"passkey": "passkey" in keys, "app": "app" in keys,
                                   "strong": "passkey" in keys or "app" in keys}}
    log = Paginator(own_security_log(target),
                    LOG_PAGE_SIZE).get_page(request.GET.get("log_page"))
    return {
        "security_unlocked": True,
        "unlocked_until": until,
        "devices": TrustedDevice.objects.filter(user=target).order_by("-last_used_at"),
        "user_sessions": UserSession.objects.filter(user=target).select_related("device"),
        "current_session_key": request.session.session_key,
        "tokens_allowed": target.kind == UserKind.CLIENT,
        "tokens": ApiToken.objects.filter(user=target),
        "connected_apps": connected_apps(target),
        "token_expiry_days": EXPIRY_DAYS,
        "token_default_days": DEFAULT_EXPIRY_DAYS,
        "now": clock.now(),
        "log": log,
        **factors_context(target),
    }


def factors_context(user: User) -> dict[str, Any]:
    """The Sign-in factors part of the section: what the user has (names and dates,
    never a secret) and what their account asks."""
    level = factor_level_for(user)
    return {
        "passkeys": passkeys.available(),
        "passkey_list": list(Passkey.objects.filter(user=user)),
        "passkey_default_name": "Passkey",
        "app_list": list(AuthenticatorApp.objects.filter(user=user)),
        "recovery_left": recovery.remaining(user),
        "factor_level": level, "factor_level_label": LABELS[level],
    }
