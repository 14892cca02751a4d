"""SPEC §3 permission matrix on the user record, enforced on the server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from loginguard.users.models import User
from tests.conftest import Personas, Visitor

ACTORS = ["member", "admin", "reseller_user", "stranger", "anonymous"]


def actor_visitor(personas: Personas, signed_in: Callable[..., Visitor], who: str) -> Visitor:
    if who == "anonymous":
        return Visitor()
    return signed_in(getattr(personas, who))


# Expected HTTP status of a GET of bob's (the member's) record tabs.
GET_STATUS = {"member": 200, "admin": 200, "reseller_user": 200, "stranger": 404,
              "anonymous": 302}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("tab", ["", "permissions/", "notifications/"])
def test_who_can_open_a_client_users_record(personas: Personas, signed_in: Callable[..., Visitor],
                                            who: str, tab: str) -> None:
    visitor = actor_visitor(personas, signed_in, who)
    response = visitor.get(f"/users/{personas.member.pk}/{tab}")
    assert response.status_code == GET_STATUS[who]


# (actor, tab) -> may the POST change bob?
ALLOWED = {
    ("member", "details"), ("admin", "details"), ("reseller_user", "details"),
    ("admin", "permissions"), ("reseller_user", "permissions"),
    ("admin", "notifications"), ("reseller_user", "notifications"),
}
POSTS = {
    "details": ("", {"first_name": "Robert", "last_name": "B", "phone": "",
                     "time_zone": "Europe/Paris", "email": "bob@acme.example"},
                lambda u: u.first_name == "Robert"),
    "permissions": ("permissions/", {"is_client_admin": "on", "is_active": "on"},
                    lambda u: u.is_client_admin),
    "notifications": ("notifications/", {"notify_token_created": "on"},
                      lambda u: not u.notify_new_device),
}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("tab", list(POSTS))
def test_who_can_change_a_client_users_record(personas: Personas,
                                              signed_in: Callable[..., Visitor],
                                              who: str, tab: str) -> None:
    path, data, changed = POSTS[tab]
    visitor = actor_visitor(personas, signed_in, who)
    response = visitor.post(f"/users/{personas.member.pk}/{path}", data)
    bob = User.objects.get(pk=personas.member.pk)
    if (who, tab) in ALLOWED:
        assert response.status_code == 302 and changed(bob)
    else:
        assert response.status_code in (302, 403, 404) and not changed(bob)
        if who != "anonymous":
            assert response.status_code in (403, 404)


@pytest.mark.parametrize("field", ["is_client_admin", "is_active", "account", "kind",
                                   "username", "password", "reseller", "notify_new_device"])
def test_crafted_fields_on_details_are_refused_whole(personas: Personas,
                                                     signed_in: Callable[..., Visitor],
                                                     field: str) -> None:
    bob = signed_in(personas.member)
    before = User.objects.filter(pk=personas.member.pk).values().get()
    response = bob.post(f"/users/{personas.member.pk}/", {
        "first_name": "Changed", "last_name": "", "phone": "", "time_zone": "UTC",
        "email": "bob@acme.example", field: "1"})
    assert response.status_code == 403
    assert User.objects.filter(pk=personas.member.pk).values().get() == before


def test_crafted_account_on_permissions_is_refused(personas: Personas,
                                                   signed_in: Callable[..., Visitor]) -> None:
    alice = signed_in(personas.admin)
    response = alice.post(f"/users/{personas.member.pk}/permissions/",
                          {"is_active": "on", "account": str(personas.other_account.pk)})
    assert response.status_code == 403
    assert User.objects.get(pk=personas.member.pk).account == personas.account


def test_nobody_changes_their_own_role_or_status(personas: Personas,
                                                 signed_in: Callable[..., Visitor]) -> None:
    alice = signed_in(personas.admin)
    response = alice.post(f"/users/{personas.admin.pk}/permissions/", {})
    assert response.status_code == 403
    alice_now = User.objects.get(pk=personas.admin.pk)
    assert alice_now.is_client_admin and alice_now.is_active


def test_admin_cannot_reach_another_accounts_user(personas: Personas,
                                                  signed_in: Callable[..., Visitor]) -> None:
    sam = signed_in(personas.stranger)
    for path in ["", "permissions/", "notifications/", "email/confirm/", "email/cancel/"]:
        response = sam.post(f"/users/{personas.member.pk}/{path}", {"code": "123456"})
        assert response.status_code == 404, path


@pytest.mark.parametrize("bad_id", ["0", "abc", "-1", "99999999", "١", "1e2"])
def test_malformed_and_missing_ids_are_404(personas: Personas,
                                           signed_in: Callable[..., Visitor], bad_id: str) -> None:
    alice = signed_in(personas.admin)
    assert alice.get(f"/users/{bad_id}/").status_code == 404


def test_deactivation_from_permissions_ends_the_users_sessions(
        personas: Personas, signed_in: Callable[..., Visitor]) -> None:
    bob = signed_in(personas.member)
    alice = signed_in(personas.admin, ip="203.0.113.5")
    assert alice.post(f"/users/{personas.member.pk}/permissions/", {}).status_code == 302
    assert not User.objects.get(pk=personas.member.pk).is_active
    assert bob.get("/").headers["Location"] == "/login/"


@pytest.mark.parametrize("data", [
    {"first_name": "x" * 151}, {"phone": "1" * 41}, {"time_zone": "Mars/Olympus"},
    {"time_zone": ""}, {"first_name": "bad\x00"}, {"email": "not-an-email"},
])
def test_bad_details_get_a_clear_error_and_change_nothing(
        personas: Personas, signed_in: Callable[..., Visitor], data: dict[str, str]) -> None:
    bob = signed_in(personas.member)
    before = User.objects.filter(pk=personas.member.pk).values().get()
    form = {"first_name": "", "last_name": "", "phone": "", "time_zone": "UTC",
            "email": "bob@acme.example", **data}
    response = bob.post(f"/users/{personas.member.pk}/", form, follow=True)
    assert response.redirect_chain == [(f"/users/{personas.member.pk}/", 302)]
    assert b'class="errorlist"' in response.content
    after = User.objects.filter(pk=personas.member.pk).values().get()
    assert after == before


def test_edit_user_is_in_the_header_popup(personas: Personas,
                                          signed_in: Callable[..., Visitor]) -> None:
    bob = signed_in(personas.member)
    html = bob.get("/").content.decode()
    assert f'href="/users/{personas.member.pk}/">Edit User</a>' in html


@pytest.mark.parametrize("field", ["is_client_admin", "is_active", "first_name", "email"])
def test_crafted_fields_on_notifications_are_refused_whole(personas: Personas,
                                                           signed_in: Callable[..., Visitor],
                                                           field: str) -> None:
    alice = signed_in(personas.admin)
    before = User.objects.filter(pk=personas.member.pk).values().get()
    response = alice.post(f"/users/{personas.member.pk}/notifications/", {field: "x"})
    assert response.status_code == 403
    assert User.objects.filter(pk=personas.member.pk).values().get() == before
