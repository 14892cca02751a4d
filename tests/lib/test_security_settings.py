from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import identify_hasher, make_password
from django.test import Client


def test_new_passwords_are_argon2id_with_owasp_parameters() -> None:
    encoded = make_password("a-sufficiently-long-password")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_pbkdf2_hashes_still_verify_and_are_upgraded(db: None) -> None:
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from loginguard.actions.tenants import account_create
    from loginguard.actions.users import user_create

    user = user_create(username="legacy", email="l@x.example",
                       account=account_create(name="Legacy"))
    user.password = PBKDF2PasswordHasher().encode("old-but-long-password", "saltsaltsalt")
    user.save()
    assert user.check_password("old-but-long-password")
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"


@pytest.mark.django_db
def test_pages_send_security_headers() -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_hsts_is_sent_over_https_when_cookies_are_secure() -> None:
    response = Client().get("/login/", secure=True)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_no_admin_site_is_mounted() -> None:
    assert Client().get("/admin/").status_code == 404


@pytest.mark.django_db
def test_healthz_answers_without_touching_sessions_or_the_database(
        django_assert_num_queries: object) -> None:
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "anything"
    with django_assert_num_queries(0):  # type: ignore[operator]
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "Set-Cookie" not in response.headers


@pytest.mark.django_db
def test_cookies_carry_the_host_prefix_when_secure(settings: object) -> None:
    # Review finding 7: with SECURE_COOKIES (the default) no sibling subdomain or plain-http
    # response can plant or overwrite loginguard's cookies.
    from loginguard.devices.cookie import cookie_name
    from tests.conftest import Visitor

    assert django_settings.SECURE_COOKIES
    assert django_settings.SESSION_COOKIE_NAME == "__Host-lg_session"
    assert django_settings.CSRF_COOKIE_NAME == "__Host-lg_csrf"
    assert cookie_name() == "__Host-lg_device"
    response = Visitor().get("/login/")
    morsel = response.cookies["__Host-lg_csrf"]
    assert morsel["secure"] and morsel["path"] == "/" and not morsel["domain"]
