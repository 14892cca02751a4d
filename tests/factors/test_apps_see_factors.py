"""What apps and operators see of the factors (SPEC §14): the OIDC amr by RFC 8176 (pwd,
otp, hwk/swk, mfa) and acr, acr_values=urn:loginguard:passkey demanding a passkey,
X-Auth-Require: passkey for forward auth, and /metrics counting sign-ins by factor."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from loginguard.actions.clients import Registered
from loginguard.factors.proofs import Proof, amr
from tests.conftest import Personas, Visitor
from tests.factors.conftest import (
    add_app,
    app_code,
    passkey_answer,
    register_passkey,
    signed_in_unlocked,
)
from tests.ops.test_metrics import TOKEN, scrape, value
from tests.sso.conftest import authorize, claims_of, code_from, exchange, pkce

pytestmark = pytest.mark.django_db
PASSWORDLESS = ("/login/passkey/options/", "/login/passkey/")
SECOND = ("/login/verify/passkey/options/", "/login/verify/passkey/")


@pytest.mark.parametrize(("proofs", "expected"), [
    ([Proof.PASSWORD, Proof.EMAIL_CODE], ["pwd", "otp", "mfa"]),
    ([Proof.PASSWORD, Proof.APP_CODE], ["pwd", "otp", "mfa"]),
    ([Proof.PASSWORD, Proof.RECOVERY_CODE], ["pwd", "otp", "mfa"]),
    ([Proof.PASSWORD, Proof.PASSKEY], ["pwd", "hwk", "mfa"]),
    ([Proof.PASSWORD, Proof.TRUSTED_DEVICE], ["pwd"]),
    ([Proof.PASSKEY], ["hwk"]),
    ([Proof.SYNCED_PASSKEY], ["swk"]),
    ([Proof.PASSWORD, Proof.APP_CODE, Proof.TRUSTED_DEVICE], ["pwd", "otp", "mfa"]),
])
def test_amr_follows_rfc_8176(proofs: list[Proof], expected: list[str]) -> None:
    assert amr(proofs) == expected


def id_token_claims(visitor: Visitor, registered: Registered, signing_pem: str,
                    **extra: str) -> dict[str, Any]:
    proof = pkce()
    response = authorize(visitor, registered, proof, **extra)
    code = code_from(response)
    return claims_of(exchange(visitor, registered, code, proof.verifier).json()["id_token"],
                     signing_pem)


def test_discovery_lists_the_passkey_acr(client: Client) -> None:
    data = client.get("/.well-known/openid-configuration").json()
    assert {"urn:loginguard:code", "urn:loginguard:passkey"} <= set(
        data["acr_values_supported"])


def test_a_passkey_sign_in_tells_apps_hwk_or_swk(personas: Personas, app: Registered,
                                                 signing_pem: str) -> None:
    visitor = signed_in_unlocked(personas.member)
    device_bound = register_passkey(visitor)
    synced = register_passkey(visitor, name="Phone", synced=True)
    for key, expected in ((device_bound, ["hwk"]), (synced, ["swk"])):
        browser = Visitor()
        assert passkey_answer(browser, key, *PASSWORDLESS).json()["ok"]
        claims = id_token_claims(browser, app, signing_pem)
        assert claims["amr"] == expected and claims["acr"] == "urn:loginguard:passkey"


def test_an_app_code_is_otp_with_mfa(personas: Personas, app: Registered,
                                     signing_pem: str) -> None:
    secret = add_app(personas.member)
    visitor = Visitor()
    visitor.password("bob")
    visitor.code(app_code(secret))
    visitor.trust("no")
    claims = id_token_claims(visitor, app, signing_pem)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "urn:loginguard:code"


def test_acr_passkey_demands_a_passkey_in_this_sign_in(personas: Personas, app: Registered,
                                                       signing_pem: str) -> None:
    visitor = signed_in_unlocked(personas.member)  # signed in with the emailed code
    key = register_passkey(visitor)
    proof = pkce()
    asked = authorize(visitor, app, proof, acr_values="urn:loginguard:passkey")
    location = asked.headers["Location"]
    assert asked.status_code == 302 and location.startswith("/login/?next=/o/authorize/")
    # The password step, then the passkey (no other method is offered).
    target = parse_qs(urlsplit(location).query)["next"][0]
    assert visitor.post("/login/", {"username": "bob", "password": "correct-horse-battery-"
                                    "staple-9", "next": target}).headers["Location"] == \
        "/login/verify/"
    page = visitor.get("/login/verify/").content
    assert b"Use your passkey" in page and b"Email me a code instead" not in page
    visitor.post("/login/verify/method/", {"method": "email"})  # refused: stays passkey
    answer = passkey_answer(visitor, key, *SECOND)
    # This browser is a trusted device: no trust prompt, straight back to the app.
    assert answer.json()["redirect"] == target
    code = code_from(visitor.get(target))
    claims = claims_of(exchange(visitor, app, code, proof.verifier).json()["id_token"],
                       signing_pem)
    assert claims["acr"] == "urn:loginguard:passkey" and claims["amr"] == ["pwd", "hwk", "mfa"]


def test_acr_passkey_for_a_user_without_one_says_what_to_do(personas: Personas,
                                                             app: Registered) -> None:
    visitor = Visitor()
    asked = authorize(visitor, app, pkce(), acr_values="urn:loginguard:passkey")
    target = parse_qs(urlsplit(asked.headers["Location"]).query)["next"][0]
    response = visitor.post("/login/", {"username": "bob", "password":
                                        "correct-horse-battery-staple-9", "next": target})
    assert response.status_code == 200 and b"asks for a passkey" in response.content
    assert visitor.signed_in_as() is None


# --- forward auth -----------------------------------------------------------------------

def forward(visitor: Visitor, require: str) -> Any:
    return visitor.get("/auth/forward", HTTP_X_ORIGINAL_URL="https://app.example/",
                       HTTP_X_AUTH_REQUIRE=require, HTTP_X_FORWARDED_FOR="198.51.100.23")


def test_x_auth_require_passkey(personas: Personas, settings: Any) -> None:
    settings.FORWARD_AUTH_HOSTS = ["app.example"]
    visitor = signed_in_unlocked(personas.member)
    key = register_passkey(visitor)
    refused = forward(visitor, "passkey")
    assert refused.status_code == 403
    assert refused["X-Auth-Reason"] == "this app needs a sign-in with a passkey"
    browser = Visitor()
    passkey_answer(browser, key, *PASSWORDLESS)
    assert forward(browser, "passkey").status_code == 200
    assert forward(browser, "fresh-code, passkey").status_code == 200  # a passkey is both


# --- metrics ------------------------------------------------------------------------------

def test_metrics_count_sign_ins_by_factor(personas: Personas, settings: Any,
                                          django_capture_on_commit_callbacks: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        visitor = signed_in_unlocked(personas.member)  # email
        key = register_passkey(visitor)
        passkey_answer(Visitor(), key, *PASSWORDLESS)  # passkey
        secret = add_app(personas.admin)
        alice = Visitor()
        alice.password("alice")
        alice.code(app_code(secret))
        alice.trust("no")  # app
    after = scrape()
    for factor in ("email", "passkey", "app"):
        assert value(after, "loginguard_signins_by_factor_total", factor=factor) - value(
            before, "loginguard_signins_by_factor_total", factor=factor) == 1, factor
