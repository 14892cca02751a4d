"""The device-secret cookie: 256 random bits, one per browser, shared by every user who
signs in on it; the server keeps only its SHA-256 per trusting user."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "lg_device"  # "__Host-lg_device" when SECURE_COOKIES is on (cookie_name())
COOKIE_AGE = 400 * 24 * 3600  # the longest lifetime browsers honour
_FORMAT = re.compile(r"^[A-Za-z0-9_-]{43}$")


def cookie_name() -> str:
    """With SECURE_COOKIES the ``__Host-`` prefix: the browser accepts the cookie only
    when it is Secure, for the whole host, and set without a Domain, so a sibling
    subdomain or a plain-http page can never plant or overwrite the device secret."""
    return f"__Host-{COOKIE_NAME}" if settings.SECURE_COOKIES else COOKIE_NAME


def read_secret(request: HttpRequest) -> str | None:
    value = request.COOKIES.get(cookie_name(), "")
    return value if _FORMAT.match(value) else None


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def set_secret(response: HttpResponse, secret: str) -> None:
    response.set_cookie(
        cookie_name(), secret, max_age=COOKIE_AGE, httponly=True, samesite="Lax",
        secure=settings.SECURE_COOKIES,
    )
