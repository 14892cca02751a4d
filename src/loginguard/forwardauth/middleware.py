"""``/auth/forward`` answered before the rest of the stack (SPEC §12).

A reverse proxy asks on every request to every app it guards, so the common case (a
valid session in its idle window, nothing to write) is answered here from one indexed
query, with the same checks the pages make: the session exists and has not expired, it
belongs to an active user of an active account, its auth hash matches the user's
password, and its IP/browser/OS binding and idle and absolute limits hold
(``signin.sessions.binding_reason``). Anything that needs a write (ending a session,
noting activity once a minute) or Django's own judgement (a session signed under a
fallback SECRET_KEY) goes through the whole middleware stack to ``views.forward``; the
redirect the session-binding middleware answers there becomes a 401."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from loginguard.access.rules import may_sign_in
from loginguard.devices.fingerprint import fingerprint
from loginguard.forwardauth.responses import granted, unauthorized
from loginguard.forwardauth.selectors import stored_session
from loginguard.lib import clock
from loginguard.lib.paths import FORWARD_PATH
from loginguard.signin.session_store import SessionStore
from loginguard.signin.sessions import BACKEND, binding_reason, seen_is_stale
from loginguard.tenancy.policy import ip_policy_for
from loginguard.users.models import User

SESSION_KEY_FORMAT = re.compile(r"[a-z0-9]{32}")


# Pure functions of what the database holds and of the keys, remembered per process: the
# same stored session (or password hash) under the same keys gives the same answer, and a
# changed or deleted row is a different entry or no row at all. Nothing here decides
# anything the database and the settings do not.
def decoded(session_data: str) -> Mapping[str, Any]:
    """A stored session's data, as Django's session store decodes and verifies it."""
    return _decoded(session_data, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


def session_auth_hash(password: str) -> str:
    """What Django stores in a session for a user with this password hash."""
    return _auth_hash(password, settings.SECRET_KEY)


@lru_cache(maxsize=4096)
def _decoded(session_data: str, key: str, fallbacks: tuple[str, ...]) -> Mapping[str, Any]:
    return MappingProxyType(SessionStore().decode(session_data))


@lru_cache(maxsize=4096)
def _auth_hash(password: str, key: str) -> str:
    return User(password=password).get_session_auth_hash()


class ForwardAuthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != FORWARD_PATH:
            return self.get_response(request)
        answer = fast_answer(request)
        if answer is None:
            answer = self.get_response(request)
            if 300 <= answer.status_code < 400:  # the session-binding middleware ended it
                answer = unauthorized(request)
        return answer


def fast_answer(request: HttpRequest) -> HttpResponse | None:
    """The answer, or None when the full stack must decide."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not SESSION_KEY_FORMAT.fullmatch(key):
        return unauthorized(request)
    # Expiry as Django's session store judges it (its own clock); the rules below use ours.
    found = stored_session(key, timezone.now())
    if found is None:
        return unauthorized(request)
    user = found.user
    if user is None:
        return None
    data = decoded(found.data)
    if (data.get(SESSION_KEY) != str(user.pk) or data.get(BACKEND_SESSION_KEY) != BACKEND
            or not constant_time_compare(str(data.get(HASH_SESSION_KEY, "")),
                                         session_auth_hash(user.password))):
        return None
    if not may_sign_in(user):
        return unauthorized(request)
    now = clock.now()
    if (binding_reason(data, fingerprint(request), ip_policy_for(user), now) is not None
            or seen_is_stale(data, now)):
        return None
    request.user = user
    return granted(request, user, data)
