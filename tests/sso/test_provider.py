"""The provider through its HTTP interface (SPEC §11): discovery, the authorize endpoint
behind loginguard's sign-in, the code exchange and its refusals, refresh rotation, claims."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from loginguard.actions.clients import Registered, client_create
from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.sso.models import Authorization
from tests.conftest import Personas, Visitor
from tests.sso.conftest import (
    REDIRECT,
    authorize,
    authorize_path,
    claims_of,
    code_from,
    exchange,
    pkce,
    refresh,
    sign_in_from,
)

pytestmark = pytest.mark.django_db


def signed_in_code(visitor: Visitor, app: Registered, user: Any, **extra: str) -> tuple[str, str]:
    """Anonymous authorize → the sign-in pages → back → a code; returns (code, verifier)."""
    proof = pkce()
    response = authorize(visitor, app, proof, **extra)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=/o/authorize/")
    finished = sign_in_from(visitor, user, response.headers["Location"])
    assert finished.headers["Location"].startswith("/o/authorize/")
    return code_from(visitor.get(finished.headers["Location"])), proof.verifier


def test_discovery_document_advertises_what_the_provider_does(client: Any) -> None:
    data = client.get("/.well-known/openid-configuration").json()
    assert data["issuer"] == "http://testserver"
    assert data["authorization_endpoint"] == "http://testserver/o/authorize/"
    assert data["backchannel_logout_supported"] is True
    assert data["backchannel_logout_session_supported"] is True
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert "urn:loginguard:code" in data["acr_values_supported"]
    assert {"sid", "amr", "acr", "account", "role"} <= set(data["claims_supported"])
    assert data["end_session_endpoint"] == "http://testserver/o/logout/"
    keys = client.get("/o/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1 and keys[0]["alg"] == "RS256" and "d" not in keys[0]


def test_anonymous_authorize_signs_in_with_the_code_and_comes_back_with_claims(
        personas: Personas, app: Registered, signing_pem: str) -> None:
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.member,
                                    scope="openid profile email account")
    tokens = exchange(visitor, app, code, verifier).json()
    claims = claims_of(tokens["id_token"], signing_pem)
    assert claims["aud"] == app.client_id and claims["nonce"] == "n-456"
    assert claims["sub"] not in (personas.member.username, str(personas.member.pk))
    assert len(claims["sub"]) == 32
    assert claims["preferred_username"] == "bob" and claims["email"] == "bob@acme.example"
    assert claims["email_verified"] is True  # the code just went to that address
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "urn:loginguard:code"
    assert claims["account"] == {"id": str(personas.account.pk), "name": "Acme"}
    assert claims["role"] == "client_user"
    assert claims["reseller"] == {"id": str(personas.reseller.pk), "name": "Northwind"}
    row = Authorization.objects.get()
    assert claims["sid"] == row.sid and claims["auth_time"] == int(row.auth_time.timestamp())
    info = visitor.client.get("/o/userinfo/",
                              HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert info["sub"] == claims["sub"] and info["role"] == "client_user"
    assert AuditEvent.objects.filter(event_type=EventType.SSO_AUTHORIZED,
                                     subject=personas.member).count() == 1


def test_the_sub_is_the_same_for_every_sign_in_and_differs_between_users(
        personas: Personas, app: Registered, signing_pem: str) -> None:
    subs = []
    for user in (personas.member, personas.member, personas.admin):
        visitor = Visitor()
        code, verifier = signed_in_code(visitor, app, user)
        subs.append(claims_of(exchange(visitor, app, code, verifier).json()["id_token"],
                              signing_pem)["sub"])
    assert subs[0] == subs[1] != subs[2]


def test_reseller_user_gets_the_accounts_they_are_connected_to(
        personas: Personas, app: Registered, signing_pem: str) -> None:
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.reseller_user, scope="openid account")
    claims = claims_of(exchange(visitor, app, code, verifier).json()["id_token"], signing_pem)
    assert claims["role"] == "reseller_user" and claims["account"] is None
    assert claims["accounts"] == [{"id": str(personas.account.pk), "name": "Acme"}]
    assert "email" not in claims  # not asked for


def test_signed_in_session_goes_straight_through(personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    assert code_from(authorize(visitor, app, pkce()))


# --- refusals at /o/authorize --------------------------------------------------------------

@pytest.mark.parametrize("redirect_uri", [
    "https://campaigns.example/oidc/callback",          # no trailing slash
    "https://campaigns.example/oidc/callback/?x=1",
    "https://campaigns.example.evil/oidc/callback/",
    "http://campaigns.example/oidc/callback/",
    "https://evil.example/",
])
def test_unregistered_or_near_miss_redirect_uri_is_an_error_page_not_a_redirect(
        personas: Personas, app: Registered, redirect_uri: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    response = visitor.get(authorize_path(app.client_id, pkce().challenge,
                                          redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert not Grant.objects.exists() and not Authorization.objects.exists()


def test_missing_pkce_challenge_is_refused(personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    path = authorize_path(app.client_id, "x").replace("code_challenge=x&", "")
    response = visitor.get(path.replace("&code_challenge_method=S256", ""))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_request"]
    assert not Grant.objects.exists()


def test_plain_pkce_is_refused(personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    response = visitor.get(authorize_path(app.client_id, "a" * 43,
                                          code_challenge_method="plain"))
    assert "error=" in response.headers["Location"]
    assert not Grant.objects.exists()


def test_prompt_none_without_a_session_answers_login_required_without_a_page(
        personas: Personas, app: Registered) -> None:
    response = authorize(Visitor(), app, pkce(), prompt="none")
    assert response.status_code == 302
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.headers["Location"].startswith(REDIRECT)
    assert params["error"] == ["login_required"] and params["state"] == ["st-123"]


def test_prompt_none_with_a_bad_redirect_uri_never_redirects(
        personas: Personas, app: Registered) -> None:
    response = Visitor().get(authorize_path(app.client_id, pkce().challenge, prompt="none",
                                            redirect_uri="https://evil.example/"))
    assert response.status_code == 400


def test_account_client_refuses_users_of_other_accounts(personas: Personas) -> None:
    bound = client_create(name="Acme reports", redirect_uris=[REDIRECT], public=False,
                          account=personas.account)
    visitor = Visitor()
    visitor.sign_in(personas.stranger)
    response = authorize(visitor, bound, pkce())
    assert response.status_code == 403
    assert "belongs to another client account" in response.content.decode()
    assert not Grant.objects.exists()
    event = AuditEvent.objects.get(event_type=EventType.SSO_REFUSED)
    assert event.subject == personas.stranger and event.extra["reason"] == "other_account"
    # The form's POST cannot go around it either: a POST acts only on a request a GET of
    # this session validated (and the GET refused), never on the form's fields.
    response = visitor.post("/o/authorize/", {
        "client_id": bound.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid", "allow": "Authorize", "code_challenge": pkce().challenge,
        "code_challenge_method": "S256"})
    assert response.status_code == 400 and not Grant.objects.exists()


def test_account_client_asks_consent_once_with_csrf(personas: Personas) -> None:
    bound = client_create(name="Acme reports", redirect_uris=[REDIRECT], public=False,
                          account=personas.account)
    visitor = Visitor()
    visitor.sign_in(personas.member)
    visitor.client.handler.enforce_csrf_checks = True  # as a browser's cross-site POST meets
    page = authorize(visitor, bound, pkce())
    assert page.status_code == 200 and "Allow Acme reports" in page.content.decode()
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    # Without the CSRF token (a page on another site posting the form): refused.
    forged = visitor.post("/o/authorize/", {**form, "allow": "Authorize"})
    assert forged.status_code == 403 and not Grant.objects.exists()
    token = visitor.client.cookies[settings.CSRF_COOKIE_NAME].value
    allowed = visitor.post("/o/authorize/", {**form, "allow": "Authorize",
                                             "csrfmiddlewaretoken": token})
    assert code_from(allowed)
    # Asked once: the next request for the same scopes goes straight through.
    assert code_from(authorize(visitor, bound, pkce()))
    assert bound.client.application.skip_authorization is False


# --- refusals at /o/token ----------------------------------------------------------------

def test_wrong_or_missing_pkce_verifier_gets_no_token(personas: Personas,
                                                      app: Registered) -> None:
    visitor = Visitor()
    code, _ = signed_in_code(visitor, app, personas.member)
    wrong = exchange(visitor, app, code, "x" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = exchange(visitor, app, code, None)
    assert missing.status_code == 400 and "access_token" not in missing.json()
    assert not AccessToken.objects.exists()


def test_a_code_used_twice_fails_and_revokes_what_the_first_use_got(
        personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.member)
    first = exchange(visitor, app, code, verifier).json()
    second = exchange(visitor, app, code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()
    assert refresh(visitor, app, first["refresh_token"]).status_code == 400


def test_code_of_another_client_expired_code_and_wrong_secret_get_no_token(
        personas: Personas, app: Registered) -> None:
    other = client_create(name="Other", redirect_uris=[REDIRECT], public=False)
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.member)
    assert exchange(visitor, other, code, verifier).json()["error"] == "invalid_grant"
    wrong = exchange(visitor, app, code, verifier, secret="not-the-secret")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert exchange(visitor, app, code, verifier).json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_refresh_rotates_and_a_reused_refresh_token_revokes_its_family(
        personas: Personas, app: Registered, signing_pem: str) -> None:
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.member)
    first = exchange(visitor, app, code, verifier).json()
    second = refresh(visitor, app, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert claims_of(second["id_token"], signing_pem)["acr"] == "urn:loginguard:code"
    replay = refresh(visitor, app, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The family is dead: the newest refresh token and its access token too.
    assert refresh(visitor, app, second["refresh_token"]).status_code == 400
    assert visitor.client.get("/o/userinfo/", HTTP_AUTHORIZATION=(
        f"Bearer {second['access_token']}")).status_code == 401


def test_deactivated_user_gets_no_refresh_and_no_userinfo(personas: Personas,
                                                          app: Registered) -> None:
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.member)
    tokens = exchange(visitor, app, code, verifier).json()
    type(personas.member).objects.filter(pk=personas.member.pk).update(is_active=False)
    assert visitor.client.get("/o/userinfo/", HTTP_AUTHORIZATION=(
        f"Bearer {tokens['access_token']}")).status_code == 401
    assert refresh(visitor, app, tokens["refresh_token"]).status_code == 400


def test_secrets_and_tokens_are_stored_hashed(personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.member)
    tokens = exchange(visitor, app, code, verifier).json()
    stored = app.client.application
    stored.refresh_from_db()
    assert app.secret and app.secret not in stored.client_secret
    stored_tokens = json.dumps([list(AccessToken.objects.values_list("token", flat=True)),
                                list(RefreshToken.objects.values_list("token", flat=True))])
    assert tokens["access_token"] not in stored_tokens
    assert tokens["refresh_token"] not in stored_tokens


# --- step-up ------------------------------------------------------------------------------

def test_trusted_device_sign_in_has_acr_trusted_device_and_no_otp(
        personas: Personas, app: Registered, signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member, trust="yes")
    visitor.post("/logout/")
    assert visitor.password("bob").headers["Location"] == "/"  # the code was skipped
    proof = pkce()
    code = code_from(authorize(visitor, app, proof))
    claims = claims_of(exchange(visitor, app, code, proof.verifier).json()["id_token"],
                       signing_pem)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:loginguard:trusted-device"


def test_acr_code_demands_a_code_even_on_a_trusted_device(
        personas: Personas, app: Registered, signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member, trust="yes")
    visitor.post("/logout/")
    visitor.password("bob")
    proof = pkce()
    response = authorize(visitor, app, proof, acr_values="urn:loginguard:code")
    assert response.headers["Location"].startswith("/login/?next=/o/authorize/")
    login = visitor.get(response.headers["Location"])
    assert login.status_code == 200
    back = sign_in_from(visitor, personas.member, response.headers["Location"])
    assert AuditEvent.objects.filter(event_type=EventType.CODE_VERIFIED).count() == 2
    code = code_from(visitor.get(back.headers["Location"]))
    claims = claims_of(exchange(visitor, app, code, proof.verifier).json()["id_token"],
                       signing_pem)
    assert claims["acr"] == "urn:loginguard:code" and "otp" in claims["amr"]


@pytest.mark.parametrize("extra", [{"prompt": "login"}, {"max_age": "0"}])
def test_prompt_login_and_max_age_demand_the_password_again(
        personas: Personas, app: Registered, extra: dict[str, str]) -> None:
    from loginguard.lib import clock

    visitor = Visitor()
    visitor.sign_in(personas.member)
    clock.advance(timedelta(seconds=5))
    response = authorize(visitor, app, pkce(), **extra)
    assert response.headers["Location"].startswith("/login/?next=/o/authorize/")
    assert "prompt%3Dlogin" not in response.headers["Location"]
    assert visitor.signed_in_as() is None
    finished = sign_in_from(visitor, personas.member, response.headers["Location"])
    assert code_from(visitor.get(finished.headers["Location"]))


def test_max_age_within_the_limit_goes_through(personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    assert code_from(authorize(visitor, app, pkce(), max_age="3600"))


@pytest.mark.parametrize("path", ["/o/token/", "/o/revoke_token/"])
def test_a_nul_byte_anywhere_is_a_clear_400(personas: Personas, app: Registered,
                                           path: str) -> None:
    response = Visitor().client.post(path, {"token": "a\x00b", "client_id": app.client_id,
                                            "grant_type": "authorization_code"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    page = Visitor().get("/o/authorize/?client_id=%00")
    assert page.status_code == 400


def test_the_first_pair_is_stored_as_the_toolkit_would(personas: Personas, app: Registered,
                                                        signing_pem: str) -> None:
    """validator.save_bearer_token saves the first pair itself (no re-read of the code or of
    the ID token): the access token is linked to its ID token, stored hashed, and the
    refresh token starts the family the authorization records."""
    visitor = Visitor()
    code, verifier = signed_in_code(visitor, app, personas.member)
    tokens = exchange(visitor, app, code, verifier).json()
    access = AccessToken.objects.select_related("id_token").get()
    assert access.id_token is not None
    assert str(access.id_token.jti) == claims_of(tokens["id_token"], signing_pem)["jti"]
    assert access.token == "" and access.user == personas.member and access.resource == []
    assert access.scope == tokens["scope"] and access.expires > timezone.now()
    token = RefreshToken.objects.get()
    assert token.access_token == access and token.token == ""
    assert Authorization.objects.get().family == token.token_family
    assert visitor.client.get("/o/userinfo/", HTTP_AUTHORIZATION=(
        f"Bearer {tokens['access_token']}")).status_code == 200
    assert refresh(visitor, app, tokens["refresh_token"]).status_code == 200
