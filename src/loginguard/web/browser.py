"""The middleware only pages need, skipped for the API.

The API (`/api/`) authenticates by bearer token only and never reads or sets a cookie, so
the session, CSRF, cookie authentication, messages and session-binding middleware have
nothing to do there: wrapped by `browser_only`, they pass API requests straight through.
That keeps a browser's session cookie from ever taking part in an API call, and it takes
about 90 µs off every API request (docs/benchmarks.md). Pages get the middleware unchanged,
including its view and exception hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware as _Csrf

from loginguard.lib.paths import API_PREFIX
from loginguard.signin.middleware import EnrollmentGate as _EnrollmentGate
from loginguard.signin.middleware import SessionBindingMiddleware as _SessionBinding

HOOKS = ("process_view", "process_exception", "process_template_response")
# The OpenID Connect endpoints an app calls server to server (or a browser reads without
# cookies): like the API, they never take part in a browser session. /o/authorize/ and
# /o/logout/ are pages and keep the whole stack.
COOKIE_FREE = (API_PREFIX, "/o/token/", "/o/userinfo/", "/o/revoke_token/",
               "/o/introspect/", "/o/.well-known/", "/.well-known/")


def _guard(hook: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(request: HttpRequest, *args: Any) -> Any:
        if request.path_info.startswith(COOKIE_FREE):
            return args[0] if hook.__name__ == "process_template_response" else None
        return hook(request, *args)
    return guarded


def browser_only(middleware: type) -> type:
    class BrowserOnly:
        def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
            self.get_response = get_response
            self.inner = middleware(get_response)
            for name in HOOKS:
                if hasattr(self.inner, name):
                    setattr(self, name, _guard(getattr(self.inner, name)))

        def __call__(self, request: HttpRequest) -> HttpResponse:
            if request.path_info.startswith(COOKIE_FREE):
                return self.get_response(request)
            response: HttpResponse = self.inner(request)
            return response

    BrowserOnly.__name__ = BrowserOnly.__qualname__ = f"BrowserOnly{middleware.__name__}"
    return BrowserOnly


SessionMiddleware = browser_only(_Sessions)
CsrfViewMiddleware = browser_only(_Csrf)
AuthenticationMiddleware = browser_only(_Authentication)
MessageMiddleware = browser_only(_Messages)
SessionBindingMiddleware = browser_only(_SessionBinding)
EnrollmentGate = browser_only(_EnrollmentGate)
