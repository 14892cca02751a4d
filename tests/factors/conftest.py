"""Helpers for the factor tests: an authenticator app added with a real first code, a
passkey registered through the Security section's endpoints with the software
authenticator, and a visitor's way through the second step."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.conf import settings

from loginguard.devices.request_info import NO_REQUEST
from loginguard.factors import recovery, totp
from loginguard.lib import clock
from loginguard.users.models import User
from tests.conftest import PASSWORD, Visitor, last_code
from tests.factors.soft import SoftAuthenticator
from tests.sso.conftest import app, backchannel  # noqa: F401  (the SSO tests' fixtures)


def app_code(secret: str, steps: int = 0) -> str:
    """The app's code now (``steps`` 30-second steps away)."""
    return pyotp.TOTP(secret).at(clock.now().timestamp() + 30 * steps)


def add_app(user: User, name: str = "Phone app") -> str:
    """Give ``user`` an authenticator app; its secret."""
    secret = totp.new_secret()
    totp.app_add(user=user, name=name, secret=secret, code=app_code(secret), info=NO_REQUEST)
    clock.advance(timedelta(seconds=31))  # the confirming step is used: wait for the next
    return secret


def add_recovery_codes(user: User) -> list[str]:
    return recovery.codes_generate(user=user, info=NO_REQUEST)


def post_json(visitor: Visitor, path: str, body: Any = None) -> Any:
    return visitor.post(path, json.dumps(body or {}), content_type="application/json")


def signed_in_unlocked(user: User, **kwargs: Any) -> Visitor:
    """A browser signed in with the emailed code (trusting itself) and the Security
    section unlocked with the password (the user has no other factor yet)."""
    visitor = Visitor(**kwargs)
    assert visitor.sign_in(user, trust="yes", name="Laptop").headers["Location"] == "/"
    assert visitor.post("/security/unlock/", {"password": PASSWORD}).status_code == 302
    return visitor


def register_passkey(visitor: Visitor, *, name: str = "Laptop passkey",
                     synced: bool = False) -> SoftAuthenticator:
    """Add a passkey in the (unlocked) Security section with the software authenticator."""
    key = SoftAuthenticator(origin=settings.BASE_URL, synced=synced)
    options = post_json(visitor, "/security/factors/passkeys/options/").json()
    assert options["ok"], options
    answer = post_json(visitor, "/security/factors/passkeys/add/",
                       {"credential": key.create(options["publicKey"]), "name": name})
    assert answer.status_code == 200 and answer.json()["ok"], answer.content
    return key


def passkey_answer(visitor: Visitor, key: SoftAuthenticator, options_url: str,
                   submit_url: str, **get: Any) -> Any:
    """One passkey ceremony against the given endpoints; the submit's response."""
    options = post_json(visitor, options_url)
    assert options.status_code == 200, options.content
    return post_json(visitor, submit_url,
                     {"credential": key.get(options.json()["publicKey"], **get)})


def second_step_email(visitor: Visitor, user: User) -> Any:
    """Choose "Email me a code instead" and type the code."""
    visitor.post("/login/verify/method/", {"method": "email"})
    return visitor.code(last_code(user.email))


@pytest.fixture(autouse=True)
def _passkeys_on_localhost(settings: Any) -> None:
    # The default BASE_URL (http://localhost:8000): a host name, so passkeys are on.
    settings.BASE_URL = "http://localhost:8000"
    settings.WEBAUTHN_RP_ID = None


__all__ = ["PASSWORD"]
