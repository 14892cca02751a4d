"""Issue 25: what an outside attack run and strict relying parties found in single sign-on,
each with the request that worked before and what it gets now (docs/security.md, "Review
findings", S1–S16)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from oauth2_provider.models import AccessToken, Grant

from loginguard.actions.clients import Registered, client_create
from loginguard.actions.tenants import account_create, connection_create
from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.sso import uris
from loginguard.sso.backchannel import deliver_logout
from loginguard.sso.models import Authorization, BackchannelLogout, Client, Consent
from tests.conftest import Personas, Visitor, deliver
from tests.sso.conftest import (
    REDIRECT,
    Backchannel,
    authorize,
    authorize_path,
    claims_of,
    code_from,
    exchange,
    new_pem,
    pkce,
    refresh,
    sign_in_from,
)

pytestmark = pytest.mark.django_db


def params_of(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def trusted_session(personas: Personas) -> Visitor:
    """bob on a trusted device whose code is fresh: he signs in without one."""
    visitor = Visitor()
    visitor.sign_in(personas.member, trust="yes")
    visitor.post("/logout/")
    assert visitor.password("bob").headers["Location"] == "/"
    return visitor


@pytest.fixture
def bound(personas: Personas) -> Registered:
    """An app of bob's account: its users are asked for consent once."""
    return client_create(name="Acme reports", redirect_uris=[REDIRECT], public=False,
                         account=personas.account)


# --- S1: step-up decided from the validated request on every method ----------------------

def test_a_consent_post_acts_only_on_the_request_its_get_validated(
        personas: Personas, bound: Registered, signing_pem: str) -> None:
    visitor = trusted_session(personas)
    # Before: POSTing the form's fields to /o/authorize/?acr_values=…&max_age=0&prompt=login
    # got a code from a trusted-device session. Now a POST without a GET of this session
    # finds no request to act on.
    forged = visitor.post("/o/authorize/?" + urlencode({
        "acr_values": "urn:loginguard:code", "max_age": "0", "prompt": "login"}), {
        "client_id": bound.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid", "allow": "Authorize", "code_challenge": pkce().challenge,
        "code_challenge_method": "S256"})
    assert forged.status_code == 400 and not Grant.objects.exists()
    # The GET that asks for the code does not show the form: it demands a sign-in.
    proof = pkce()
    asked = authorize(visitor, bound, proof, acr_values="urn:loginguard:code")
    assert asked.headers["Location"].startswith("/login/?next=/o/authorize/")
    assert visitor.signed_in_as() is None
    # Signed in again with the code, the form is shown; its POST cannot change the request
    # (the scope below is the form's, the code's scope is what the GET validated).
    back = sign_in_from(visitor, personas.member, asked.headers["Location"])
    page = visitor.get(back.headers["Location"])
    assert page.status_code == 200
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    answered = visitor.post("/o/authorize/?prompt=none", {
        **form, "scope": "openid profile email account", "allow": "Authorize"})
    code = params_of(answered)["code"]
    claims = claims_of(exchange(visitor, bound, code, proof.verifier).json()["id_token"],
                       signing_pem)
    assert claims["acr"] == "urn:loginguard:code" and "account" not in claims
    # Answered once: the same form again is refused.
    assert visitor.post("/o/authorize/", {**form, "allow": "Authorize"}).status_code == 400


@pytest.mark.parametrize("query", [
    {"acr_values": ["urn:loginguard:code", "x"]},
    {"max_age": ["0", "999999"]},
    {"prompt": ["login", "consent"]},
    {"nonce": ["a", "b"]},
])
def test_a_repeated_oauth_parameter_is_invalid_request(
        personas: Personas, app: Registered, query: dict[str, list[str]]) -> None:
    visitor = trusted_session(personas)
    proof = pkce()
    path = authorize_path(app.client_id, proof.challenge) + "&" + urlencode(query, doseq=True)
    params = params_of(visitor.get(path))
    assert params["error"] == "invalid_request" and "repeated" in params["error_description"]
    assert params["iss"] == "http://testserver" and params["state"] == "st-123"
    assert "code" not in params and visitor.signed_in_as() == "bob"


# --- S4: nothing ends a session before the request is validated ----------------------------

@pytest.mark.parametrize("query", [
    "max_age=0", "client_id=nope&acr_values=urn%3Aloginguard%3Acode",
    "client_id=nope&prompt=login"])
def test_an_invalid_authorization_request_ends_no_session(
        personas: Personas, app: Registered, backchannel: Backchannel, query: str,
        signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    proof = pkce()
    code = code_from(authorize(visitor, app, proof))
    exchange(visitor, app, code, proof.verifier)
    # Before: the browser was logged out and every app got a back-channel logout.
    response = visitor.get(f"/o/authorize/?{query}")
    assert response.status_code == 400
    assert visitor.signed_in_as() == "bob"
    assert not BackchannelLogout.objects.exists()


def test_an_id_token_hint_of_an_earlier_session_asks_before_logging_out(
        personas: Personas, app: Registered, signing_pem: str) -> None:
    earlier = Visitor()
    earlier.sign_in(personas.member)
    proof = pkce()
    old = exchange(earlier, app, code_from(authorize(earlier, app, proof)),
                   proof.verifier).json()["id_token"]
    earlier.post("/logout/")
    visitor = Visitor()
    visitor.sign_in(personas.member)
    # Before: this ended the current session without asking.
    asked = visitor.get(f"/o/logout/?id_token_hint={old}")
    assert asked.status_code == 200 and "Log out" in asked.content.decode()
    assert visitor.signed_in_as() == "bob"
    # The hint of this very session logs out at once, as before.
    proof = pkce()
    current = exchange(visitor, app, code_from(authorize(visitor, app, proof)),
                       proof.verifier).json()["id_token"]
    assert visitor.get(f"/o/logout/?id_token_hint={current}").status_code == 302
    assert visitor.signed_in_as() is None


# --- S5: a bound app sees only its own account ------------------------------------------

def test_a_bound_app_sees_only_its_account_of_a_reseller_user(
        personas: Personas, signing_pem: str) -> None:
    second = account_create(name="Initech", reseller=personas.reseller)
    connection_create(user=personas.reseller_user, account=second)
    bound = client_create(name="Acme reports", redirect_uris=[REDIRECT], public=False,
                          account=personas.account)
    visitor = Visitor()
    visitor.sign_in(personas.reseller_user)
    proof = pkce()
    page = authorize(visitor, bound, proof, scope="openid account")
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    code = params_of(visitor.post("/o/authorize/", {**form, "allow": "Authorize"}))["code"]
    tokens = exchange(visitor, bound, code, proof.verifier).json()
    claims = claims_of(tokens["id_token"], signing_pem)
    assert claims["accounts"] == [{"id": str(personas.account.pk), "name": "Acme"}]
    info = visitor.client.get("/o/userinfo/",
                              HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    assert info["accounts"] == claims["accounts"]


# --- S6: userinfo takes the token from the header only -------------------------------------

def test_userinfo_refuses_a_token_in_the_query_or_the_body(
        personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    proof = pkce()
    token = exchange(visitor, app, code_from(authorize(visitor, app, proof)),
                     proof.verifier).json()["access_token"]
    in_query = visitor.client.get(f"/o/userinfo/?access_token={token}")
    in_body = visitor.client.post("/o/userinfo/", {"access_token": token})
    for response in (in_query, in_body):
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"
        assert "invalid_request" in response.headers["WWW-Authenticate"]
    assert visitor.client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token}"
                              ).status_code == 200


# --- S7: introspection, for the token's own client only -------------------------------------

def basic(app: Registered) -> str:
    raw = f"{app.client_id}:{app.secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def test_introspection_answers_a_client_about_its_own_tokens_only(
        personas: Personas, app: Registered) -> None:
    other = client_create(name="Other", redirect_uris=[REDIRECT], public=False)
    public = client_create(name="SPA", redirect_uris=[REDIRECT], public=True)
    visitor = Visitor()
    visitor.sign_in(personas.member)
    proof = pkce()
    tokens = exchange(visitor, app, code_from(authorize(visitor, app, proof)),
                      proof.verifier).json()
    client = visitor.client
    answer = client.post("/o/introspect/", {"token": tokens["access_token"]},
                         HTTP_AUTHORIZATION=basic(app)).json()
    assert answer["active"] is True and answer["client_id"] == app.client_id
    assert answer["aud"] == app.client_id and answer["scope"] == tokens["scope"]
    assert answer["exp"] > 0 and len(answer["sub"]) == 32 and "username" not in answer
    refreshed = client.post("/o/introspect/", {"token": tokens["refresh_token"],
                                               "client_id": app.client_id,
                                               "client_secret": app.secret}).json()
    assert refreshed["active"] is True and refreshed["token_type"] == "refresh_token"
    # Another client learns nothing about it; nor does an unknown token.
    assert client.post("/o/introspect/", {"token": tokens["access_token"]},
                       HTTP_AUTHORIZATION=basic(other)).json() == {"active": False}
    assert client.post("/o/introspect/", {"token": "nope"},
                       HTTP_AUTHORIZATION=basic(app)).json() == {"active": False}
    # Without credentials, with a wrong secret, or as a public client: 401.
    for headers in ({}, {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(
            f"{app.client_id}:wrong".encode()).decode()}):
        refused = client.post("/o/introspect/", {"token": tokens["access_token"]}, **headers)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert client.post("/o/introspect/", {"token": tokens["access_token"],
                                          "client_id": public.client_id}).status_code == 401
    # Repeated or missing token: a clear 400; GET: 405.
    assert client.post("/o/introspect/", {"token": ["a", "b"]},
                       HTTP_AUTHORIZATION=basic(app)).status_code == 400
    assert client.get("/o/introspect/").status_code == 405
    # Once the session ends, the token is no longer active.
    visitor.post("/logout/")
    assert client.post("/o/introspect/", {"token": tokens["access_token"]},
                       HTTP_AUTHORIZATION=basic(app)).json() == {"active": False}


# --- S8: a consent by POST records its scope -----------------------------------------------

def test_a_consent_given_by_post_records_its_scope(personas: Personas,
                                                   bound: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    page = authorize(visitor, bound, pkce(), scope="openid email")
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    code_from(visitor.post("/o/authorize/", {**form, "allow": "Authorize"}))
    assert Authorization.objects.get().scope == "openid email"
    assert Consent.objects.get().scope == "email openid"
    event = AuditEvent.objects.get(event_type=EventType.SSO_AUTHORIZED)
    assert event.extra["scope"] == "openid email"


# --- S11: a refresh race, and an outage, answer as the endpoint's protocol says -----------

def test_a_refresh_whose_tokens_vanish_before_the_toolkit_reads_them_is_invalid_grant(
        personas: Personas, app: Registered, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a parallel refresh's reuse sweep did to one of six requests (a 500)."""
    from loginguard.sso.validator import LoginguardValidator

    visitor = Visitor()
    visitor.sign_in(personas.member)
    proof = pkce()
    tokens = exchange(visitor, app, code_from(authorize(visitor, app, proof)),
                      proof.verifier).json()
    original = LoginguardValidator.save_bearer_token

    def swept(self: Any, token: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, token, request, *args, **kwargs)
        AccessToken.objects.all().delete()  # the other request's sweep, in between
        return result

    monkeypatch.setattr(LoginguardValidator, "save_bearer_token", swept)
    response = refresh(visitor, app, tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_token_endpoint_answers_an_outage_in_json(
        personas: Personas, app: Registered, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    from loginguard.sso.validator import LoginguardValidator

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("the database is unreachable")

    monkeypatch.setattr(LoginguardValidator, "authenticate_client", down)
    client = Visitor().client
    client.raise_request_exception = False
    response = client.post("/o/token/", {"grant_type": "authorization_code", "code": "x",
                                         "client_id": app.client_id})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json()["error"] == "temporarily_unavailable"


# --- S12: an id_token_hint signed by the previous, still-published key ----------------------

def test_a_hint_signed_by_the_previous_published_key_is_accepted(
        settings: Any, personas: Personas, app: Registered, signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    proof = pkce()
    hint = exchange(visitor, app, code_from(authorize(visitor, app, proof)),
                    proof.verifier).json()["id_token"]
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": new_pem(),
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [signing_pem]}
    # Before: 400 (only the current key was tried).
    response = visitor.get(f"/o/logout/?id_token_hint={hint}")
    assert response.status_code == 302 and visitor.signed_in_as() is None
    # A key that is no longer published is not trusted.
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEYS_INACTIVE": []}
    assert Visitor().get(f"/o/logout/?id_token_hint={hint}").status_code == 400


# --- S14: every redirect back to a client carries iss --------------------------------------

def test_cancel_and_a_request_without_pkce_reach_the_app_with_iss(
        personas: Personas, app: Registered, bound: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    page = authorize(visitor, bound, pkce())
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    cancelled = params_of(visitor.post("/o/authorize/", form))  # Cancel: no "allow"
    assert cancelled["error"] == "access_denied" and cancelled["state"] == "st-123"
    assert cancelled["iss"] == "http://testserver"
    path = authorize_path(app.client_id, "x").replace("&code_challenge=x", "").replace(
        "&code_challenge_method=S256", "")
    no_pkce = params_of(visitor.get(path))
    assert no_pkce["error"] == "invalid_request" and no_pkce["iss"] == "http://testserver"
    silent = params_of(Visitor().get(authorize_path(app.client_id, pkce().challenge,
                                                    prompt="none")))
    assert silent["error"] == "login_required" and silent["iss"] == "http://testserver"
    ok = params_of(visitor.get(authorize_path(app.client_id, pkce().challenge)))
    assert ok["code"] and list(parse_qs(urlsplit(
        visitor.get(authorize_path(app.client_id, pkce().challenge)).headers["Location"]
    ).query)["iss"]) == ["http://testserver"]


# --- S15: each key id published once; two keys under one id refused at start-up -----------

def test_the_signing_key_listed_again_is_published_once(
        settings: Any, signing_pem: str) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER,
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [signing_pem, new_pem()]}
    keys = Visitor().get("/o/.well-known/jwks.json").json()["keys"]
    kids = [key["kid"] for key in keys]
    assert len(kids) == 2 == len(set(kids))


def test_two_different_keys_under_one_key_id_stop_start_up(
        settings: Any, signing_pem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from loginguard.sso import keys

    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER,
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [signing_pem]}
    call_command("check")  # the same key twice is fine
    monkeypatch.setattr(keys, "key_id", lambda key: "same-kid")
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER,
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [new_pem()]}
    with pytest.raises(Exception, match=r"loginguard\.E102"):
        call_command("check")


# --- S16: discovery and the token endpoint say what strict clients expect ------------------

def test_discovery_advertises_only_the_code_flow_and_introspection(client: Any) -> None:
    data = client.get("/.well-known/openid-configuration").json()
    assert data["response_types_supported"] == ["code"]
    assert data["authorization_response_iss_parameter_supported"] is True
    assert data["introspection_endpoint"] == "http://testserver/o/introspect/"


def test_a_redirect_uri_mismatch_at_the_token_endpoint_is_invalid_grant(
        personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    proof = pkce()
    code = code_from(authorize(visitor, app, proof))
    response = exchange(visitor, app, code, proof.verifier,
                        redirect_uri="https://campaigns.example/other/")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --- S2: no blind SSRF from the worker ------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "http://127.0.0.1:6391/", "http://localhost:6391/", "https://localhost/bcl",
    "https://169.254.169.254/latest/meta-data/", "https://10.0.0.8/bcl",
    "https://[::1]/bcl", "https://[::ffff:127.0.0.1]/bcl", "https://internal.invalid/bcl",
    "http://public.example/bcl",
])
def test_an_account_app_cannot_point_its_logout_uri_inside_the_network(
        personas: Personas, uri: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.admin)
    response = visitor.post(f"/accounts/{personas.account.pk}/apps/", {
        "name": "Inside", "redirect_uri": REDIRECT, "backchannel_logout_uri": uri})
    assert response.status_code == 400 and "not a usable back-channel logout URI" in \
        response.content.decode()
    assert not Client.objects.exists()


@pytest.mark.parametrize(("uri", "ok"), [
    ("http://127.0.0.1:8765/callback", True),      # a native app's loopback (RFC 8252)
    ("http://[::1]:8765/callback", True),
    ("https://app.example/callback", True),
    ("http://localhost:8765/callback", False),
    ("https://192.168.1.4/callback", False),
    ("https://169.254.169.254/callback", False),
    ("http://app.example/callback", False),
])
def test_an_account_apps_redirect_uris_follow_the_same_rule(
        personas: Personas, uri: str, ok: bool) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.admin)
    response = visitor.post(f"/accounts/{personas.account.pk}/apps/", {
        "name": "App", "redirect_uri": uri})
    assert (response.status_code == 200) is ok
    assert Client.objects.exists() is ok


def test_only_the_operator_registers_private_addresses_and_only_with_the_flag(
        personas: Personas) -> None:
    arguments = ["Internal", "--redirect-uri", "https://10.0.0.8/cb",
                 "--backchannel-logout-uri", "https://10.0.0.8:9000/bcl"]
    with pytest.raises(CommandError, match="not public"):
        call_command("create_client", *arguments)
    assert not Client.objects.exists()
    call_command("create_client", *arguments, "--allow-private-addresses")
    assert Client.objects.get().allow_private_addresses is True


def test_delivery_checks_the_address_again_and_connects_to_what_it_checked(
        personas: Personas, backchannel: Backchannel, signing_pem: str,
        monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """A name that resolved to a public address at registration and to the worker's own
    network at delivery (DNS rebinding) gets nothing; the operator's private client (plain
    http inside a deployment whose cookies are too) is delivered to the address its name
    resolved to."""
    settings.SECURE_COOKIES = False
    port = urlsplit(backchannel.url).port
    answers = {"rebind.example": ["93.184.215.14"], "receiver.example": ["127.0.0.1"],
               "campaigns.example": ["93.184.215.14"]}
    monkeypatch.setattr(uris, "resolve", lambda host: answers.get(host, []))
    tenant = client_create(name="Rebinder", redirect_uris=[REDIRECT], public=False,
                           backchannel_logout_uri=f"https://rebind.example:{port}/bcl")
    operator = client_create(name="Internal", redirect_uris=[REDIRECT], public=False,
                             backchannel_logout_uri=f"http://receiver.example:{port}/bcl",
                             allow_private=True)
    answers["rebind.example"] = ["127.0.0.1"]
    visitor = Visitor()
    visitor.sign_in(personas.member)
    for app in (tenant, operator):
        proof = pkce()
        exchange(visitor, app, code_from(authorize(visitor, app, proof)), proof.verifier)
    visitor.post("/logout/")
    deliver()
    assert len(backchannel.tokens()) == 1  # the operator's app only
    refused = BackchannelLogout.objects.get(application=tenant.client.application)
    assert refused.status == "queued" and "not public" in refused.last_error
    sent = BackchannelLogout.objects.get(application=operator.client.application)
    assert sent.status == "sent"
    deliver_logout.call(refused.pk)  # the retry finds it no better
    assert len(backchannel.tokens()) == 1
