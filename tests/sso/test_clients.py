"""Registering apps (SPEC §11): the operator's `create_client`, and a client admin's form
on their account page; bad input changes nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from oauth2_provider.models import Application

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.sso.models import Client
from tests.conftest import Personas, Visitor

pytestmark = pytest.mark.django_db
URI = "https://reports.example/callback/"


def create_client(*args: str) -> str:
    out = io.StringIO()
    call_command("create_client", *args, stdout=out)
    return out.getvalue()


def test_create_client_prints_the_secret_once_and_stores_a_hash(personas: Personas) -> None:
    out = create_client("Reports", "--redirect-uri", URI, "--backchannel-logout-uri",
                        "https://reports.example/bcl/")
    values = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    application = Application.objects.get(client_id=values["client_id"])
    assert values["client_secret"] not in application.client_secret
    assert application.client_secret.startswith("sha256_random$")
    assert application.skip_authorization and application.algorithm == "RS256"
    assert application.loginguard.account is None
    assert application.loginguard.backchannel_logout_uri == "https://reports.example/bcl/"
    assert "not shown again" in out
    assert AuditEvent.objects.filter(event_type=EventType.SSO_CLIENT_CREATED).count() == 1


def test_create_client_public_and_bound_to_an_account(personas: Personas) -> None:
    out = create_client("SPA", "--redirect-uri", URI, "--public", "--account", "acme")
    assert "client_secret" not in out and "for account Acme" in out
    client = Client.objects.get()
    assert client.account == personas.account
    assert client.application.client_type == "public"
    assert not client.application.skip_authorization  # account apps ask for consent


@pytest.mark.parametrize(("args", "message"), [
    (["--redirect-uri", "not a url"], "not a usable redirect URI"),
    (["--redirect-uri", "https://reports.example/cb#frag"], "#fragment"),
    (["--redirect-uri", "http://reports.example/cb"], "https://"),
    (["--redirect-uri", "javascript:alert(1)"], "not a usable redirect URI"),
    (["--redirect-uri", "https://user@reports.example/cb"], "not a usable redirect URI"),
    (["--redirect-uri", URI, "--backchannel-logout-uri", "ftp://x/"], "back-channel"),
    (["--redirect-uri", URI, "--account", "Nope"], "No client account named"),
])
def test_create_client_refuses_bad_input_and_creates_nothing(
        personas: Personas, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        create_client("Reports", *args)
    assert not Application.objects.exists() and not Client.objects.exists()


def test_create_client_refuses_an_empty_name(personas: Personas) -> None:
    with pytest.raises(CommandError, match="name"):
        create_client("  ", "--redirect-uri", URI)


def admin_visitor(personas: Personas, user: Any = None) -> Visitor:
    visitor = Visitor()
    visitor.sign_in(user or personas.admin)
    return visitor


def test_client_admin_registers_an_app_for_their_account(personas: Personas) -> None:
    visitor = admin_visitor(personas)
    response = visitor.post(f"/accounts/{personas.account.pk}/apps/", {
        "name": "Acme reports", "redirect_uri": URI})
    assert response.status_code == 200
    page = response.content.decode()
    client = Client.objects.get()
    assert client.account == personas.account and client.application.name == "Acme reports"
    assert client.application.client_id in page and "shown only this once" in page
    # Shown once: the page that lists it later does not hold the secret.
    listed = visitor.get(f"/accounts/{personas.account.pk}/").content.decode()
    assert client.application.client_id in listed and "shown only this once" not in listed
    event = AuditEvent.objects.get(event_type=EventType.SSO_CLIENT_CREATED)
    assert event.actor == personas.admin and event.account == personas.account


def test_bad_app_registration_is_a_clear_error_and_nothing_changes(
        personas: Personas) -> None:
    visitor = admin_visitor(personas)
    for data in ({"name": "", "redirect_uri": URI}, {"name": "x", "redirect_uri": ""},
                 {"name": "x" * 101, "redirect_uri": URI},
                 {"name": "x", "redirect_uri": "https://a.example/#f"}):
        response = visitor.post(f"/accounts/{personas.account.pk}/apps/", data)
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode()
    assert not Client.objects.exists()


def test_only_the_accounts_admins_manage_its_apps(personas: Personas) -> None:
    create_client("Acme reports", "--redirect-uri", URI, "--account", "Acme")
    client = Client.objects.get()
    for user in (personas.member, personas.stranger):
        visitor = admin_visitor(personas, user)
        assert visitor.post(f"/accounts/{personas.account.pk}/apps/", {
            "name": "Mine", "redirect_uri": URI}).status_code == 404
        assert visitor.post(
            f"/accounts/{personas.account.pk}/apps/{client.pk}/delete/").status_code == 404
    stranger = admin_visitor(personas, personas.stranger)
    assert stranger.post(  # their own account's URL, another account's app
        f"/accounts/{personas.other_account.pk}/apps/{client.pk}/delete/").status_code == 404
    assert Client.objects.count() == 1
    admin = admin_visitor(personas)
    assert admin.post(
        f"/accounts/{personas.account.pk}/apps/{client.pk}/delete/").status_code == 302
    assert not Application.objects.exists()
    assert AuditEvent.objects.filter(event_type=EventType.SSO_CLIENT_DELETED).count() == 1


def form_action(response: Any) -> list[str]:
    csp = response.headers["Content-Security-Policy"]
    return csp.split("form-action ")[1].split(";")[0].split()


def test_form_action_admits_only_the_app_an_authorization_continues_to(
        personas: Personas) -> None:
    """Issue 25, finding 9: a sign-in page that continues an authorization admits that
    client's redirect origin (its last form ends there through /o/authorize/); a plain
    sign-in page, and every other tenant's apps, never."""
    from urllib.parse import urlencode

    values = dict(line.split(": ", 1) for line in create_client(
        "Reports", "--redirect-uri", URI).splitlines() if ": " in line)
    create_client("Other tenant's app", "--redirect-uri", "https://other.example/cb/")
    plain = form_action(Visitor().get("/login/"))
    assert plain == ["'self'"]
    query = urlencode({"client_id": values["client_id"], "redirect_uri": URI,
                       "response_type": "code"})
    continuing = Visitor().client.get("/login/", {"next": f"/o/authorize/?{query}"})
    assert form_action(continuing) == ["https://reports.example", "'self'"]
    # A redirect URI the client does not have admits nothing.
    forged = urlencode({"client_id": values["client_id"],
                        "redirect_uri": "https://other.example/cb/", "response_type": "code"})
    assert form_action(Visitor().client.get("/login/", {"next": f"/o/authorize/?{forged}"})) \
        == ["'self'"]
    about = Visitor().get("/about/").headers["Content-Security-Policy"]
    assert "reports.example" not in about and "other.example" not in about


def test_client_secret_hash_verifies_only_the_secret() -> None:
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password("s3cr3t-" * 8, hasher="sha256_random")
    assert encoded.startswith("sha256_random$")
    assert check_password("s3cr3t-" * 8, encoded)
    assert not check_password("s3cr3t-" * 7, encoded)
    assert make_password("s3cr3t-" * 8, hasher="sha256_random") != encoded  # salted
