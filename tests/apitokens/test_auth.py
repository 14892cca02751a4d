"""SPEC §6 bearer authentication on GET /api/v1/me."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from loginguard.apitokens import format as token_format
from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.services import api_token_create
from loginguard.lib import clock
from loginguard.users.models import User
from tests.conftest import Personas


@pytest.fixture
def token(personas: Personas) -> str:
    return api_token_create(user=personas.member, name="t", days=30)[1]


def get(path: str, auth: str | None = None, **extra: str) -> object:
    headers = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
    return Client(REMOTE_ADDR="203.0.113.8").get(path, **headers, **extra)


def assert_401(response: object) -> None:
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")  # type: ignore[attr-defined]
    assert response.headers["Content-Type"].startswith("application/json")  # type: ignore[attr-defined]
    assert "detail" in json.loads(response.content)  # type: ignore[attr-defined]


def test_me_with_a_valid_token(personas: Personas, token: str) -> None:
    response = get("/api/v1/me", f"Bearer {token}")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["username"] == "bob" and body["account"] == {"id": personas.account.pk,
                                                             "name": "Acme"}
    row = ApiToken.objects.get()
    assert row.last_used_ip == "203.0.113.8" and row.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(personas: Personas, token: str,
                                                    django_assert_num_queries: object) -> None:
    get("/api/v1/me", f"Bearer {token}")
    # The token with its user, then the user's factor kinds (SPEC §14): one read each.
    with django_assert_num_queries(2):  # type: ignore[operator]
        assert get("/api/v1/me", f"Bearer {token}").status_code == 200
    clock.advance(timedelta(seconds=61))
    with django_assert_num_queries(3):  # type: ignore[operator]
        assert get("/api/v1/me", f"Bearer {token}").status_code == 200


def corrupt(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


MALFORMED = [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token lgp_x", "Bearer lgp_",
    "Bearer ghp_" + "a" * 38, "Bearer lgp_" + "é" * 38, "Bearer " + "x" * 10_000,
]


@pytest.mark.parametrize("auth", MALFORMED)
def test_malformed_tokens_get_401_without_a_query(personas: Personas, auth: str | None,
                                                  django_assert_num_queries: object) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert_401(get("/api/v1/me", auth))


def test_bad_checksum_gets_401_without_a_query(personas: Personas, token: str,
                                               django_assert_num_queries: object) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert_401(get("/api/v1/me", f"Bearer {corrupt(token)}"))


def test_several_authorization_headers_are_refused(personas: Personas, token: str,
                                                   django_assert_num_queries: object) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert_401(get("/api/v1/me", f"Bearer {token}, Bearer {token}"))


def test_well_formed_unknown_token_gets_401(personas: Personas) -> None:
    assert_401(get("/api/v1/me", f"Bearer {token_format.generate()}"))


@pytest.mark.parametrize("where", ["query", "body"])
def test_token_in_url_or_body_is_refused_and_not_echoed(personas: Personas, token: str,
                                                        where: str) -> None:
    client = Client()
    if where == "query":
        response = client.get(f"/api/v1/me?access_token={token}")
    else:
        response = client.generic("GET", "/api/v1/me", f"token={token}",
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401 and token.encode() not in response.content


def test_revoked_expired_and_deactivated_tokens_fail_on_the_next_request(
        personas: Personas, token: str) -> None:
    auth = f"Bearer {token}"
    assert get("/api/v1/me", auth).status_code == 200
    User.objects.filter(pk=personas.member.pk).update(is_active=False)
    assert_401(get("/api/v1/me", auth))
    User.objects.filter(pk=personas.member.pk).update(is_active=True)
    personas.account.is_active = False
    personas.account.save()
    assert_401(get("/api/v1/me", auth))
    personas.account.is_active = True
    personas.account.save()
    assert get("/api/v1/me", auth).status_code == 200
    clock.advance(timedelta(days=30, seconds=1))
    assert_401(get("/api/v1/me", auth))
    clock.reset()
    ApiToken.objects.update(revoked_at=clock.now())
    assert_401(get("/api/v1/me", auth))


def test_deactivation_from_the_record_makes_the_token_fail(personas: Personas,
                                                           token: str) -> None:
    from tests.conftest import Visitor

    alice = Visitor()
    alice.sign_in(personas.admin)
    assert get("/api/v1/me", f"Bearer {token}").status_code == 200
    alice.post(f"/users/{personas.member.pk}/permissions/", {})
    assert_401(get("/api/v1/me", f"Bearer {token}"))


def test_openapi_and_docs_are_served_without_a_cdn(db: None) -> None:
    schema = json.loads(Client().get("/api/v1/openapi.json").content)
    assert schema["openapi"].startswith("3.") and "/api/v1/me" in schema["paths"]
    assert "401" in schema["paths"]["/api/v1/me"]["get"]["responses"]
    docs = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_a_session_cookie_is_not_an_api_credential(personas: Personas) -> None:
    from tests.conftest import Visitor

    bob = Visitor()
    bob.sign_in(personas.member)
    assert_401(bob.get("/api/v1/me"))


@pytest.mark.parametrize("auth", ["", "Bearer lgp_short", "Basic abc", "Bearer " + "x" * 42])
def test_precheck_answers_before_the_rest_of_the_stack(auth: str) -> None:
    from django.test import RequestFactory

    from loginguard.apitokens.middleware import BearerPrecheckMiddleware

    def rest_of_stack(request: object) -> object:
        raise AssertionError("a malformed token reached sessions, routing or ninja")

    middleware = BearerPrecheckMiddleware(rest_of_stack)  # type: ignore[arg-type]
    response = middleware(RequestFactory().get("/api/v1/me", HTTP_AUTHORIZATION=auth))
    assert response.status_code == 401 and "Bearer" in response["WWW-Authenticate"]


def test_token_format_roundtrip_and_rejections() -> None:
    for _ in range(200):
        token = token_format.generate()
        assert len(token) == 42 and token_format.well_formed(token)
        body = token[4:36]
        assert token[36:] == token_format.checksum(body)
        flipped = token[:10] + ("a" if token[10] != "a" else "b") + token[11:]
        assert not token_format.well_formed(flipped)  # a typo fails the checksum
    for bad in ["", "lgp_", "LGP_" + "a" * 38, "lgp_" + "a" * 37, "lgp_" + "a" * 39,
                "lgp_" + "-" * 38, "lgp_" + "ａ" * 38, "lgp_" + "a" * 37 + "\n"]:
        assert not token_format.well_formed(bad)


def test_the_api_never_reads_or_sets_cookies(personas: Personas, token: str) -> None:
    # Sessions, CSRF, cookie authentication and messages are skipped under /api/
    # (web/browser.py): a signed-in browser's cookies neither help nor get touched, and a
    # call from another IP does not end that browser's session.
    from tests.conftest import Visitor

    bob = Visitor()
    bob.sign_in(personas.member)
    response = bob.client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}",
                              REMOTE_ADDR="198.51.100.99")
    assert response.status_code == 200 and not response.cookies
    assert bob.signed_in_as() == "bob"


def test_refused_tokens_leave_no_error_log_line(personas: Personas, token: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="django.request"):
        assert_401(get("/api/v1/me", f"Bearer {corrupt(token)}"))
        assert_401(get("/api/v1/me", "Basic abc"))
    assert not [r for r in caplog.records if r.name == "django.request"]
