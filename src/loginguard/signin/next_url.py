"""Where a browser goes after signing in: ``/login/?next=…`` (SPEC §12).

Only loginguard's own paths and URLs on a host listed in ``FORWARD_AUTH_HOSTS`` (the apps
a reverse proxy guards with forward auth) are followed; anything else, an open redirect
to a phishing page included, is dropped and the browser goes to ``/``. The value is kept
in the session across the password, code and trust stages."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils.http import is_same_domain, url_has_allowed_host_and_scheme

NEXT_KEY = "lg_next"
# The app a sign-in continues to (set by the OpenID Connect authorize view before it
# sends the browser to /login/), so the page can say "Sign in to continue to Acme".
LOGIN_FOR_KEY = "lg_login_for"
MAX_NEXT = 2048  # longer is not a URL a person was on


def forward_host_allowed(host: str) -> bool:
    """``host`` (no port) matches an entry of FORWARD_AUTH_HOSTS: ``app.example.com``
    exactly, ``.example.com`` for it and its subdomains (ALLOWED_HOSTS' syntax)."""
    host = host.lower().rstrip(".")
    return any(is_same_domain(host, pattern) for pattern in settings.FORWARD_AUTH_HOSTS)


def safe_next(value: object) -> str | None:
    """``value`` when it is safe to send the browser there after sign-in, else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT:
        return None
    # Printable ASCII only (a browser sends the URL it was on %-encoded): a CR or LF would
    # split the Location header, a space or an IRI is not a URL it asked for.
    if not value.isascii() or not value.isprintable() or " " in value:
        return None
    secure = settings.SECURE_COOKIES
    if value.startswith("/") and not value.startswith(("//", "/\\")):
        # Our own path: Django's check still refuses control characters and the like.
        return value if url_has_allowed_host_and_scheme(value, allowed_hosts=None) else None
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return None
    if host is None or not forward_host_allowed(host):
        return None
    if "@" in parts.netloc:  # user info: never needed, and it hides the real host from people
        return None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts={parts.netloc},
                                           require_https=secure):
        return None
    return value


def remember_next(session: SessionBase, value: object) -> None:
    """Keep a safe ``next`` for the end of this sign-in; an unsafe one is forgotten (and
    so is an older one, so a stale target never outlives a new visit to /login/)."""
    target = safe_next(value)
    if target is None:
        session.pop(NEXT_KEY, None)
    else:
        session[NEXT_KEY] = target


def take_next(session: SessionBase) -> str | None:
    """The remembered ``next``, once (checked again: settings may have changed)."""
    return safe_next(session.pop(NEXT_KEY, None))


def login_for_remember(session: SessionBase, *, target: str, app: str, account: str) -> None:
    """The sign-in that goes on to ``target`` is for ``app`` (of ``account``, if any)."""
    session[LOGIN_FOR_KEY] = {"next": target, "app": app, "account": account}


def login_for(session: SessionBase, target: str | None) -> dict[str, str] | None:
    """The app this sign-in continues to, when the session's note is about ``target``."""
    value = session.get(LOGIN_FOR_KEY)
    if target and isinstance(value, dict) and value.get("next") == target and \
            isinstance(value.get("app"), str):
        return {"app": str(value["app"]), "account": str(value.get("account") or "")}
    return None
