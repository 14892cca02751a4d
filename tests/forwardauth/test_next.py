"""/login/?next=: back to the app after sign-in, only on FORWARD_AUTH_HOSTS (no open
redirect), kept across the code and trust stages."""

from __future__ import annotations

from typing import Any

import pytest

from loginguard.signin.next_url import safe_next
from tests.conftest import Personas, Visitor, last_code
from tests.forwardauth.conftest import APP


@pytest.mark.parametrize("value", [
    f"{APP}/reports?month=11", "http://wiki.tools.example.test/page",
    "http://tools.example.test/", "http://APP.example.test:8443/x", "/security/"])
def test_allowed_targets(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize("value", [
    None, "", 42, "http://evil.example/", "https://app.example.test.evil.example/",
    "http://evil.example/?http://app.example.test/", "//evil.example/", "/\\evil.example/",
    "javascript:alert(1)", "ftp://app.example.test/", "http://app.example.test:99999/",
    "http://user@evil.example@app.example.test/", "http://[::1/", "/" + "x" * 3000,
    "http://app.example.test/\r\nSet-Cookie:x=y", "\\\\evil.example", "http:///evil.example"])
def test_refused_targets(value: Any) -> None:
    assert safe_next(value) is None


def test_https_is_required_with_secure_cookies(settings: Any) -> None:
    settings.SECURE_COOKIES = True
    assert safe_next(f"{APP}/x") is None
    assert safe_next("https://app.example.test/x") == "https://app.example.test/x"


def test_no_hosts_listed_means_only_own_paths(settings: Any) -> None:
    settings.FORWARD_AUTH_HOSTS = []
    assert safe_next(f"{APP}/x") is None
    assert safe_next("/security/") == "/security/"


def login_with_next(visitor: Visitor, username: str, target: str) -> Any:
    page = visitor.client.get("/login/", {"next": target})
    assert page.status_code == 200
    return visitor.post("/login/", {"username": username, "password": _password(),
                                    "next": target})


def _password() -> str:
    from tests.conftest import PASSWORD

    return PASSWORD


def test_a_full_sign_in_returns_to_the_app(personas: Personas) -> None:
    visitor = Visitor()
    target = f"{APP}/reports?month=11&x=%2F"
    page = visitor.client.get("/login/", {"next": target})
    assert b'name="next"' in page.content
    assert b"app.example.test" in page.content
    assert login_with_next(visitor, "bob", target).headers["Location"] == "/login/verify/"
    assert visitor.code(last_code(personas.member.email)).headers["Location"] == "/login/trust/"
    assert visitor.trust("no").headers["Location"] == target


def test_a_trusted_device_sign_in_returns_to_the_app(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member, trust="yes")
    visitor.post("/logout/")
    assert login_with_next(visitor, "bob", f"{APP}/x").headers["Location"] == f"{APP}/x"


def test_a_foreign_next_lands_on_home(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member, trust="yes")
    visitor.post("/logout/")
    response = login_with_next(visitor, "bob", "http://evil.example/")
    assert response.headers["Location"] == "/"
    page = Visitor().client.get("/login/", {"next": "http://evil.example/"})
    assert b"evil.example" not in page.content


def test_a_signed_in_browser_is_sent_on_at_once(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    def after(target: str) -> str:
        return str(visitor.client.get("/login/", {"next": target}).headers["Location"])

    assert after(f"{APP}/x") == f"{APP}/x"
    assert after("http://evil.example/") == "/"


def test_a_next_is_used_once(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member, trust="yes")
    visitor.post("/logout/")
    login_with_next(visitor, "bob", f"{APP}/x")
    visitor.post("/logout/")
    assert visitor.password("bob").headers["Location"] == "/"


def test_the_sign_in_pages_may_submit_towards_the_guarded_hosts() -> None:
    """CSP form-action also applies to the redirects after a form: the last sign-in step
    redirects to the app, so its host is in form-action (settings at start-up)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "FORWARD_AUTH_HOSTS": "app.example.com,.tools.example.com",
           "SECRET_KEY": "x" * 50, "SECURE_COOKIES": "true"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = ("from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY); "
            "print(settings.SESSION_COOKIE_NAME)")
    out = subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-c", code],
                         env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert ("form-action 'self' https://app.example.com:* https://*.tools.example.com:*;"
            in out)
    assert "__Host-lg_session" in out
    env["SESSION_COOKIE_DOMAIN"] = "example.com"
    out = subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-c", code],
                         env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "__Secure-lg_session" in out
