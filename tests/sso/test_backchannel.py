"""Back-channel logout (SPEC §11): whenever loginguard ends a session, the session's token
families die at once and each app with a back-channel URI gets a signed logout token,
POSTed by the worker to a real HTTP server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from jwcrypto import jwk, jwt

from loginguard.actions.clients import Registered
from loginguard.actions.tenants import account_set_active
from loginguard.actions.users import user_set_active_by_operator
from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.lib import clock
from loginguard.ops import housekeeping
from loginguard.sso.backchannel import EVENT, deliver_logout
from loginguard.sso.models import Authorization, BackchannelLogout, LogoutStatus
from tests.conftest import PASSWORD, Personas, Visitor, deliver
from tests.security.conftest import unlock
from tests.sso.conftest import (
    Backchannel,
    authorize,
    claims_of,
    code_from,
    exchange,
    pkce,
    refresh,
)

pytestmark = pytest.mark.django_db


def connected(visitor: Visitor, app: Registered, pem: str) -> dict[str, Any]:
    """The app gets tokens in the visitor's (signed-in) session."""
    proof = pkce()
    code = code_from(authorize(visitor, app, proof))
    tokens = exchange(visitor, app, code, proof.verifier).json()
    tokens["claims"] = claims_of(tokens["id_token"], pem)
    return tokens


def logout_claims(token: str, pem: str) -> dict[str, Any]:
    key = jwk.JWK.from_pem(pem.encode())
    parsed = jwt.JWT(key=key, jwt=token, expected_type="JWS")
    assert json.loads(parsed.header)["typ"] == "logout+jwt"
    return dict(json.loads(parsed.claims))


def assert_told(backchannel: Backchannel, tokens: dict[str, Any], pem: str) -> None:
    deliver()
    assert len(backchannel.tokens()) == 1, backchannel.tokens()
    claims = logout_claims(backchannel.tokens()[0], pem)
    assert claims["iss"] == "http://testserver" and claims["aud"] == tokens["claims"]["aud"]
    assert claims["sid"] == tokens["claims"]["sid"] and claims["sub"] == tokens["claims"]["sub"]
    assert claims["events"] == {EVENT: {}} and "nonce" not in claims and claims["jti"]
    assert BackchannelLogout.objects.get().status == LogoutStatus.SENT


def assert_dead(visitor: Visitor, app: Registered, tokens: dict[str, Any]) -> None:
    assert refresh(visitor, app, tokens["refresh_token"]).status_code == 400
    assert visitor.client.get("/o/userinfo/", HTTP_AUTHORIZATION=(
        f"Bearer {tokens['access_token']}")).status_code == 401


def test_log_out_revokes_the_tokens_at_once_and_tells_the_app(
        personas: Personas, app: Registered, backchannel: Backchannel, signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    tokens = connected(visitor, app, signing_pem)
    visitor.post("/logout/")
    assert BackchannelLogout.objects.get().status == LogoutStatus.QUEUED  # not sent inline
    assert backchannel.tokens() == []
    assert_dead(visitor, app, tokens)
    assert_told(backchannel, tokens, signing_pem)


def test_an_ip_change_mid_session_logs_the_app_out(
        personas: Personas, app: Registered, backchannel: Backchannel, signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    tokens = connected(visitor, app, signing_pem)
    visitor.ip = "203.0.113.99"
    assert visitor.get("/").headers["Location"] == "/login/"
    assert_dead(visitor, app, tokens)
    assert_told(backchannel, tokens, signing_pem)


def test_sign_out_other_sessions_logs_out_their_apps_only(
        personas: Personas, app: Registered, backchannel: Backchannel, signing_pem: str) -> None:
    laptop, phone = Visitor(), Visitor()
    laptop.sign_in(personas.member)
    phone.sign_in(personas.member)
    on_phone = connected(phone, app, signing_pem)
    on_laptop = connected(laptop, app, signing_pem)
    unlock(laptop)
    laptop.post("/security/sessions/end-others/")
    assert_dead(phone, app, on_phone)
    assert refresh(laptop, app, on_laptop["refresh_token"]).status_code == 200
    assert_told(backchannel, on_phone, signing_pem)


@pytest.mark.parametrize("how", ["deactivate", "suspend", "password_change", "idle_sweep"])
def test_every_other_way_a_session_ends_tells_the_app(
        personas: Personas, app: Registered, backchannel: Backchannel, signing_pem: str,
        how: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    tokens = connected(visitor, app, signing_pem)
    other = Visitor()
    other.sign_in(personas.member)
    if how == "deactivate":
        user_set_active_by_operator(target=personas.member, active=False)
    elif how == "suspend":
        account_set_active(account=personas.account, active=False)
    elif how == "password_change":
        unlock(other)
        other.post("/security/password/", {"current_password": PASSWORD,
                                           "new_password1": "a-brand-new-passphrase-77",
                                           "new_password2": "a-brand-new-passphrase-77"})
    else:  # nobody comes back: housekeeping's sweep ends it after 60 idle minutes
        clock.advance(timedelta(minutes=62))
        housekeeping.run()
    assert_dead(visitor, app, tokens)
    assert_told(backchannel, tokens, signing_pem)


def test_a_failing_app_is_retried_with_backoff_then_recorded(
        personas: Personas, app: Registered, backchannel: Backchannel, signing_pem: str) -> None:
    backchannel.server.status = 500
    visitor = Visitor()
    visitor.sign_in(personas.member)
    connected(visitor, app, signing_pem)
    visitor.post("/logout/")
    deliver()  # the first attempt; the retry waits (run_after) for its backoff
    row = BackchannelLogout.objects.get()
    assert (row.status, row.attempts) == (LogoutStatus.QUEUED, 1)
    assert "500" in row.last_error
    with override_settings(BACKCHANNEL_MAX_ATTEMPTS=3):
        deliver_logout.call(row.pk)
        deliver_logout.call(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (LogoutStatus.FAILED, 3)
    failed = AuditEvent.objects.get(event_type=EventType.SSO_LOGOUT_FAILED)
    assert failed.extra["client_id"] == app.client_id and failed.extra["attempts"] == 3
    assert len(backchannel.tokens()) == 3


def test_an_app_without_a_backchannel_uri_is_not_owed_a_logout(
        personas: Personas, signing_pem: str) -> None:
    from loginguard.actions.clients import client_create
    from tests.sso.conftest import REDIRECT

    plain = client_create(name="No BCL", redirect_uris=[REDIRECT], public=False)
    visitor = Visitor()
    visitor.sign_in(personas.member)
    tokens = connected(visitor, plain, signing_pem)
    visitor.post("/logout/")
    assert_dead(visitor, plain, tokens)
    assert not BackchannelLogout.objects.exists()


def test_rp_initiated_logout_ends_the_session_like_the_button(
        personas: Personas, app: Registered, backchannel: Backchannel, signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    tokens = connected(visitor, app, signing_pem)
    response = visitor.get("/o/logout/?" + "&".join([
        f"id_token_hint={tokens['id_token']}", f"client_id={app.client_id}",
        "post_logout_redirect_uri=https://campaigns.example/oidc/callback/", "state=bye"]))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://campaigns.example/oidc/callback/?state=bye"
    assert visitor.signed_in_as() is None
    assert AuditEvent.objects.filter(event_type=EventType.SESSION_ENDED,
                                     extra__reason="sso_logout").count() == 1
    assert_dead(visitor, app, tokens)
    assert_told(backchannel, tokens, signing_pem)


def test_connected_apps_are_listed_and_can_be_disconnected(
        personas: Personas, app: Registered, backchannel: Backchannel, signing_pem: str) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    tokens = connected(visitor, app, signing_pem)
    unlock(visitor)
    page = visitor.get(f"/users/{personas.member.pk}/").content.decode()
    assert "Connected apps" in page and "Acme Campaigns" in page
    application_id = app.client.application.pk
    stranger = Visitor()
    stranger.sign_in(personas.stranger)
    unlock(stranger)
    assert stranger.post(f"/security/apps/{application_id}/disconnect/").status_code == 404
    assert visitor.post("/security/apps/nope/disconnect/").status_code == 404
    response = visitor.post(f"/security/apps/{application_id}/disconnect/")
    assert response.status_code == 302
    assert_dead(visitor, app, tokens)
    assert_told(backchannel, tokens, signing_pem)
    assert Authorization.objects.filter(ended_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(event_type=EventType.SSO_APP_REVOKED).count() == 1
    assert visitor.signed_in_as() == "bob"  # loginguard's own session goes on
