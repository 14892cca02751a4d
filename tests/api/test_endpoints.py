"""SPEC §6 endpoints × who is calling."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from loginguard.apitokens.services import api_token_create
from loginguard.users.models import User
from tests.conftest import Personas, deliver


def token_for(user: User) -> str:
    return api_token_create(user=user, name="t", days=30)[1]


class Api:
    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.client.generic(method, f"/api/v1{path}",
                                       json.dumps(body) if body is not None else "",
                                       content_type="application/json", **self.headers)
        assert response.headers["Content-Type"].startswith("application/json"), path
        return response.status_code, json.loads(response.content)


@pytest.fixture
def as_member(personas: Personas) -> Api:
    return Api(token_for(personas.member))


@pytest.fixture
def as_admin(personas: Personas) -> Api:
    return Api(token_for(personas.admin))


@pytest.fixture
def as_stranger(personas: Personas) -> Api:
    return Api(token_for(personas.stranger))


def test_account(personas: Personas, as_member: Api) -> None:
    status, body = as_member.call("GET", "/account")
    assert status == 200 and body == {"id": personas.account.pk, "name": "Acme",
                                      "ip_match": "exact", "reseller": "Northwind"}


def test_client_user_sees_only_themselves(personas: Personas, as_member: Api) -> None:
    status, body = as_member.call("GET", "/users")
    assert status == 200 and [u["username"] for u in body["items"]] == ["bob"]
    assert as_member.call("GET", f"/users/{personas.member.pk}")[0] == 200
    assert as_member.call("GET", f"/users/{personas.admin.pk}")[0] == 404


def test_admin_sees_the_accounts_users_only(personas: Personas, as_admin: Api) -> None:
    status, body = as_admin.call("GET", "/users")
    assert status == 200 and {u["username"] for u in body["items"]} == {"alice", "bob"}
    assert body["count"] == 2
    assert as_admin.call("GET", f"/users/{personas.stranger.pk}")[0] == 404
    assert as_admin.call("GET", f"/users/{personas.reseller_user.pk}")[0] == 404


def test_pagination_is_bounded(personas: Personas, as_admin: Api) -> None:
    status, body = as_admin.call("GET", "/users?limit=1&offset=1")
    assert status == 200 and len(body["items"]) == 1 and body["count"] == 2
    for query in ["limit=0", "limit=101", "offset=-1", "offset=99999999999999999999",
                  "limit=abc"]:
        assert as_admin.call("GET", f"/users?{query}")[0] == 422, query


def test_admin_invites_a_user(personas: Personas, as_admin: Api) -> None:
    status, body = as_admin.call("POST", "/users", {"username": "newbie",
                                                    "email": "newbie@acme.example"})
    assert status == 201 and body["username"] == "newbie"
    assert body["account"]["id"] == personas.account.pk
    assert any("/invite/" in str(m.body) for m in deliver())


def test_api_invitations_are_budgeted_per_actor(personas: Personas, as_admin: Api) -> None:
    # Review finding 11: 30 an hour per actor, counted before anything is checked (so a
    # token cannot probe usernames faster either).
    for n in range(30):
        as_admin.call("POST", "/users", {"username": f"n{n}", "email": f"n{n}@acme.example"})
    status, payload = as_admin.call("POST", "/users", {"username": "late",
                                                       "email": "late@acme.example"})
    assert status in (400, 422) and "Too many" in str(payload["detail"])
    assert not User.objects.filter(username="late").exists()


@pytest.mark.parametrize("body", [
    {"username": "BOB", "email": "x@acme.example"},
    {"username": "nul\u0000", "email": "x@acme.example"},
    {"username": "ok", "email": "x\u0000@acme.example"},
    {"username": "ok", "email": "not-an-email"},
    {"username": "", "email": "x@acme.example"},
    {"username": "ok", "email": "x@acme.example", "account": 99},
    {"username": "ok", "email": "x@acme.example", "kind": "reseller"},
    {"username": "ok"}, [], "text", None,
])
def test_bad_invitations_are_422_and_change_nothing(personas: Personas, as_admin: Api,
                                                    body: Any) -> None:
    before = User.objects.count()
    status, payload = as_admin.call("POST", "/users", body)
    assert status in (400, 422) and "detail" in payload
    assert User.objects.count() == before


def test_client_user_cannot_invite(personas: Personas, as_member: Api) -> None:
    status, _ = as_member.call("POST", "/users", {"username": "x", "email": "x@acme.example"})
    assert status == 403 and not User.objects.filter(username="x").exists()


def test_patch_own_details(personas: Personas, as_member: Api) -> None:
    status, body = as_member.call("PATCH", f"/users/{personas.member.pk}",
                                  {"first_name": "Robert", "time_zone": "Europe/Paris"})
    assert status == 200 and body["first_name"] == "Robert"
    assert User.objects.get(pk=personas.member.pk).time_zone == "Europe/Paris"


@pytest.mark.parametrize("field", [
    {"is_client_admin": True}, {"account": 2}, {"kind": "reseller"}, {"is_active": False},
    {"email": "evil@x.example"}, {"username": "robert"}, {"password": "x" * 20},
])
def test_mass_assignment_is_rejected(personas: Personas, as_admin: Api,
                                     field: dict[str, Any]) -> None:
    before = User.objects.filter(pk=personas.member.pk).values().get()
    status, _ = as_admin.call("PATCH", f"/users/{personas.member.pk}",
                              {"first_name": "Changed", **field})
    assert status == 422
    assert User.objects.filter(pk=personas.member.pk).values().get() == before


def test_client_user_cannot_patch_others(personas: Personas, as_member: Api) -> None:
    assert as_member.call("PATCH", f"/users/{personas.admin.pk}", {"first_name": "x"})[0] \
        == 404


def test_admin_patches_a_user_of_the_account_not_another(personas: Personas, as_admin: Api,
                                                         as_stranger: Api) -> None:
    assert as_admin.call("PATCH", f"/users/{personas.member.pk}", {"phone": "+1 555"})[0] == 200
    assert as_stranger.call("PATCH", f"/users/{personas.member.pk}", {"phone": "0"})[0] == 404
    assert User.objects.get(pk=personas.member.pk).phone == "+1 555"


@pytest.mark.parametrize("value", [{"time_zone": "Mars/Base"}, {"first_name": "x" * 151},
                                   {"phone": 123}, {"first_name": "bad\x00"}])
def test_bad_patch_values_are_422(personas: Personas, as_member: Api,
                                  value: dict[str, Any]) -> None:
    before = User.objects.filter(pk=personas.member.pk).values().get()
    assert as_member.call("PATCH", f"/users/{personas.member.pk}", value)[0] == 422
    assert User.objects.filter(pk=personas.member.pk).values().get() == before


@pytest.mark.parametrize("bad_id", ["0", "abc", "-1", "9" * 40, "١"])
def test_bad_ids_are_404(personas: Personas, as_admin: Api, bad_id: str) -> None:
    assert as_admin.call("GET", f"/users/{bad_id}")[0] == 404


def test_security_log_is_own_or_the_accounts(personas: Personas, as_member: Api,
                                             as_admin: Api, as_stranger: Api) -> None:
    _, mine = as_member.call("GET", "/security-log")
    assert {e["subject"] for e in mine["items"]} == {"bob"}
    _, account = as_admin.call("GET", "/security-log")
    assert {"alice", "bob"} <= {e["subject"] for e in account["items"]}
    _, other = as_stranger.call("GET", "/security-log")
    assert "bob" not in {e["subject"] for e in other["items"]}


def test_unknown_paths_and_methods_answer_in_json(personas: Personas, as_member: Api) -> None:
    assert as_member.call("GET", "/nope")[0] == 404
    assert as_member.call("DELETE", "/me")[0] == 405
    assert Api(None).call("GET", "/users")[0] == 401


def test_a_token_cannot_reach_the_security_section(personas: Personas) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(personas.member)}")
    for path in ["/security/tokens/create/", "/security/password/", "/security/unlock/"]:
        response = client.post(path, {"password": "x"})
        assert response.status_code in (302, 403)
        assert response.headers.get("Location", "/login/").startswith("/login/")
