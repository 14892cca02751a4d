from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest

from loginguard.access.logs import own_security_log
from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.services import DEFAULT_EXPIRY_DAYS, EXPIRY_DAYS
from loginguard.devices.models import TrustedDevice
from loginguard.lib import clock
from loginguard.security.unlock import unlocked_until
from loginguard.signin.models import UserSession
from loginguard.sso.selectors import connected_apps
from loginguard.users.models import User, UserKind

LOG_PAGE_SIZE = 20


def security_context(request: HttpRequest, target: User) -> dict[str, Any]:
    """What the Security section shows: nothing but who can unlock it on somebody else's
    record; the unlock form while locked; everything once unlocked."""
    own = request.user.pk == target.pk
    until = unlocked_until(request) if own else None
    if until is None:
        return {"security_unlocked": False}
    log = Paginator(own_security_log(target),
                    LOG_PAGE_SIZE).get_page(request.GET.get("log_page"))
    return {
        "security_unlocked": True,
        "unlocked_until": until,
        "devices": TrustedDevice.objects.filter(user=target).order_by("-last_used_at"),
        "user_sessions": UserSession.objects.filter(user=target),
        "current_session_key": request.session.session_key,
        "tokens_allowed": target.kind == UserKind.CLIENT,
        "tokens": ApiToken.objects.filter(user=target),
        "connected_apps": connected_apps(target),
        "token_expiry_days": EXPIRY_DAYS,
        "token_default_days": DEFAULT_EXPIRY_DAYS,
        "now": clock.now(),
        "log": log,
    }
