"""Authenticator apps (SPEC §14; RFC 6238 through ``pyotp``): 6 digits, 30-second steps,
one step either side for a slow clock, each step's code accepted once (the last accepted
step is kept, and only a later one passes, in one conditional update).

The secret is encrypted at rest (Fernet, from ``cryptography``) with a key derived from
SECRET_KEY; the keys derived from SECRET_KEY_FALLBACKS still read it after a rotation, and
``secrets_reencrypt`` moves every secret to the current key (docs/operations.md,
"Rotating SECRET_KEY"). Adding an app is confirmed by its first code: until then the
secret waits in the session, never in the database."""

from __future__ import annotations

import base64
import re
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.crypto import salted_hmac
from pyotp.exceptions import OTPVerificationError

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.request_info import RequestInfo
from loginguard.emails import kinds as emails
from loginguard.factors.models import AuthenticatorApp
from loginguard.lib import clock
from loginguard.users.models import User

DIGITS, STEP, WINDOW = 6, 30, 1
MAX_APPS = 5
CODE_FORMAT = re.compile(r"[0-9]{6}", re.ASCII)
ISSUER = "loginguard"


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(salted_hmac(
        "loginguard.factors.totp", "fernet-key", secret=key, algorithm="sha256").digest()))
        for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(stored: str) -> str | None:
    """The secret, or None when no current or fallback key opens it."""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def new_secret() -> str:
    """160 random bits, base32 (what authenticator apps expect)."""
    return pyotp.random_base32(32)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(
        name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code, drawn on the server (no script, no
    image request, works under the strict CSP)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111827",
                                                        light="#ffffff", omitsize=True))


def _code(submitted: object) -> str:
    text = "".join(submitted.split()) if isinstance(submitted, str) else ""
    return text if CODE_FORMAT.fullmatch(text) else ""


def matching_step(secret: str, submitted: object, at: datetime | None = None) -> int | None:
    """The time step whose code this is (within one step either side), or None."""
    code = _code(submitted)
    if not code:
        return None
    try:
        return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).verify_and_get_timecode(
            code, for_time=(at or clock.now()).timestamp(), valid_window=WINDOW)
    except (OTPVerificationError, ValueError):
        return None


def clean_name(name: object) -> str:
    text = " ".join(name.split()) if isinstance(name, str) else ""
    if not text or len(text) > 64 or not text.isprintable():
        raise ValidationError("Give the app a name of 1 to 64 characters, e.g. "
                              "“Authenticator on my phone”.")
    return text


def app_add(*, user: User, name: object, secret: str, code: object,
            info: RequestInfo) -> AuthenticatorApp:
    """Add the app once its first code proves it holds ``secret``."""
    clean = clean_name(name)
    step = matching_step(secret, code)
    if step is None:
        raise ValidationError("That code does not match. Check that the app shows "
                              "“loginguard” with your username, and type its current "
                              "6-digit code.")
    with transaction.atomic():
        if AuthenticatorApp.objects.filter(user=user).count() >= MAX_APPS:
            raise ValidationError(f"You already have {MAX_APPS} authenticator apps. "
                                  "Remove one you no longer use first.")
        app = AuthenticatorApp.objects.create(user=user, name=clean, secret=encrypt(secret),
                                              last_step=step, created_at=clock.now())
        audit_log(event_type=EventType.FACTOR_ADDED, subject=user, actor=user, info=info,
                  extra={"factor": "app", "name": clean})
        emails.send_factor_changed(user=user, added=True, factor="an authenticator app",
                                   name=clean, ip=info.ip)
    return app


def app_remove(*, user: User, app: AuthenticatorApp, info: RequestInfo) -> None:
    with transaction.atomic():
        if AuthenticatorApp.objects.filter(pk=app.pk, user=user).delete()[0]:
            audit_log(event_type=EventType.FACTOR_REMOVED, subject=user, actor=user,
                      info=info, extra={"factor": "app", "name": app.name})
            emails.send_factor_changed(user=user, added=False, factor="an authenticator app",
                                       name=app.name, ip=info.ip)


def app_code_matches(user: User, submitted: object) -> AuthenticatorApp | None:
    """The user's app whose code this is, now, for a step not accepted before; that step
    is then taken (a conditional update: the same code submitted twice at once passes
    once). None when no app takes it."""
    code = _code(submitted)
    if not code:
        return None
    now = clock.now()
    for app in AuthenticatorApp.objects.filter(user=user):
        secret = decrypt(app.secret)
        step = matching_step(secret, code, now) if secret is not None else None
        if step is not None and AuthenticatorApp.objects.filter(
                pk=app.pk, last_step__lt=step).update(last_step=step, last_used_at=now):
            return app
    return None


def secrets_reencrypt() -> int:
    """Every stored secret encrypted again under the current SECRET_KEY (after a rotation,
    before the old key leaves SECRET_KEY_FALLBACKS). How many were."""
    fernet, done = _fernet(), 0
    for app in AuthenticatorApp.objects.only("id", "secret"):
        try:
            fresh = fernet.rotate(app.secret.encode()).decode()
        except InvalidToken:
            continue  # no key opens it: left as it is, and it fails as it would have
        done += AuthenticatorApp.objects.filter(pk=app.pk, secret=app.secret).update(
            secret=fresh)
    return done
