"""Single sign-on against a real installation (SPEC §11): `loginguard serve` + worker +
SMTP, the example app "Acme Campaigns" (Authlib's Django client) served by granian, and
Authlib's OAuth 2 session as a second relying party. No hand-made token request here:
the happy paths are the RP libraries' own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Stack, free_port, running_stack
from tests.sso.conftest import new_pem

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "sso-correct-horse-battery"
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")


@dataclass
class Sso:
    stack: Stack
    app_url: str
    client_id: str
    client_secret: str
    rp_redirect: str  # the Authlib OAuth2Session client's (nothing listens there)
    rp_id: str
    rp_secret: str

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(requests.get(self.stack.base_url + "/.well-known/openid-configuration",
                                 timeout=10).json())


def registered(stack: Stack, *args: str) -> tuple[str, str]:
    out = stack.cli("create_client", *args)
    values = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return values["client_id"], values["client_secret"]


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the example app exited"
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sso]:
    tmp = tmp_path_factory.mktemp("sso")
    key = tmp / "oidc.pem"
    key.write_text(new_pem())
    # No FORWARD_AUTH_HOSTS: the sign-in pages' CSP must admit the app's origin by itself.
    with running_stack(tmp, OIDC_PRIVATE_KEY_FILE=str(key)) as stack:
        stack.cli("create_account", "SSO Corp")
        stack.cli("create_user", "dana", "--email", "dana@sso.example", "--account",
                  "SSO Corp", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
        port = free_port()
        app_url = f"http://127.0.0.1:{port}"
        client_id, secret = registered(
            stack, "Acme Campaigns", "--redirect-uri", f"{app_url}/oidc/callback/",
            "--backchannel-logout-uri", f"{app_url}/backchannel-logout/")
        rp_redirect = "http://127.0.0.1:9/callback"
        rp_id, rp_secret = registered(stack, "Reports", "--redirect-uri", rp_redirect)
        env = {**os.environ, "ACME_CLIENT_ID": client_id, "ACME_CLIENT_SECRET": secret,
               "ACME_ISSUER": stack.base_url, "ACME_BASE_URL": app_url,
               "ACME_VAR_DIR": str(tmp / "acme"), "PYTHONPATH": str(ROOT)}
        granian = str(Path(sys.executable).parent / "granian")
        app = subprocess.Popen([granian, "--interface", "wsgi", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", "1",
                                "examples.acme_campaigns.app:application"],
                               env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            wait_up(app_url + "/", app)
            yield Sso(stack, app_url, client_id, secret, rp_redirect, rp_id, rp_secret)
        finally:
            app.terminate()
            app.wait(timeout=10)


def form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1).replace("&amp;", "&")


def sign_in_pages(session: requests.Session, sso: Sso, login: requests.Response) -> str:
    """What a person does on loginguard's pages; returns the URL it ends on (the app)."""
    before = len(sso.stack.inbox.messages)
    response = session.post(sso.stack.base_url + "/login/", allow_redirects=False, data={
        "csrfmiddlewaretoken": form_value(login.text, "csrfmiddlewaretoken"),
        "username": "dana", "password": PASSWORD, "next": form_value(login.text, "next")})
    assert response.headers["Location"] == "/login/verify/"
    page = session.get(sso.stack.base_url + "/login/verify/")
    page = session.post(page.url, data={
        "csrfmiddlewaretoken": form_value(page.text, "csrfmiddlewaretoken"),
        "code": sso.stack.inbox.code("dana@sso.example", after=before)})
    response = session.post(page.url, allow_redirects=False, data={
        "csrfmiddlewaretoken": form_value(page.text, "csrfmiddlewaretoken"), "trust": "no",
        "device_name": "x"})
    location = response.headers["Location"]
    while location.startswith(("/", sso.stack.base_url)):  # /o/authorize/, then the app
        response = session.get(requests.compat.urljoin(sso.stack.base_url, location),
                               allow_redirects=False)
        location = response.headers["Location"]
    return location


def test_example_app_signs_in_through_loginguard_and_the_back_channel_logs_it_out(
        sso: Sso) -> None:
    browser = requests.Session()
    browser.headers["User-Agent"] = UA
    login = browser.get(sso.app_url + "/login/")  # app → /o/authorize/ → /login/?next=…
    assert login.url.startswith(sso.stack.base_url + "/login/?next=/o/authorize/")
    home = browser.get(sign_in_pages(browser, sso, login))
    assert "Signed in as <strong data-testid=\"username\">dana" in home.text
    assert "SSO Corp" in home.text and "client_admin" in home.text
    # Log out in loginguard: the worker tells the app, whose next request is signed out.
    page = browser.get(sso.stack.base_url + "/")
    browser.post(sso.stack.base_url + "/logout/", data={
        "csrfmiddlewaretoken": form_value(page.text, "csrfmiddlewaretoken")})
    deadline = time.monotonic() + 15
    while "Sign in with loginguard" not in browser.get(sso.app_url + "/").text:
        assert time.monotonic() < deadline, "the app was not told of the logout"
        time.sleep(0.2)


def test_authlib_session_gets_refreshes_revokes_and_reads_userinfo(sso: Sso) -> None:
    metadata = sso.metadata
    client = OAuth2Session(sso.rp_id, sso.rp_secret, scope="openid profile email account",
                           redirect_uri=sso.rp_redirect, code_challenge_method="S256")
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(metadata["authorization_endpoint"],
                                                 code_verifier=verifier, nonce=nonce)
    browser = requests.Session()
    browser.headers["User-Agent"] = UA
    callback = sign_in_pages(browser, sso, browser.get(url))
    assert callback.startswith(sso.rp_redirect)
    assert parse_qs(urlsplit(callback).query)["state"] == [state]
    token = client.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                               code_verifier=verifier)
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": metadata["issuer"]},
                          aud={"essential": True, "value": sso.rp_id},
                          nonce={"essential": True, "value": nonce}).validate(id_token.claims)
    assert id_token.claims["amr"] == ["pwd", "otp"]
    assert id_token.claims["account"]["name"] == "SSO Corp"
    info = client.get(metadata["userinfo_endpoint"]).json()
    assert info["sub"] == id_token.claims["sub"] and info["role"] == "client_admin"
    renewed = client.refresh_token(metadata["token_endpoint"])
    assert renewed["refresh_token"] != token["refresh_token"]
    revoked = client.revoke_token(metadata["revocation_endpoint"],
                                  token=renewed["refresh_token"],
                                  token_type_hint="refresh_token")
    assert revoked.status_code == 200
    assert client.get(metadata["userinfo_endpoint"]).status_code == 401


def test_chromium_through_the_example_app(browser: Browser, sso: Sso) -> None:
    context = browser.new_context(user_agent=UA)
    page = context.new_page()
    before = len(sso.stack.inbox.messages)
    page.goto(sso.app_url + "/")
    page.get_by_role("link", name="Sign in with loginguard").click()
    expect(page).to_have_url(re.compile(re.escape(sso.stack.base_url) + r"/login/\?next="))
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Verification code").fill(
        sso.stack.inbox.code("dana@sso.example", after=before))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(sso.app_url + "/")
    expect(page.get_by_test_id("username")).to_have_text("dana")
    expect(page.get_by_test_id("account")).to_have_text("SSO Corp")
    expect(page.get_by_test_id("role")).to_have_text("client_admin")
    # The app's Log out is an RP-initiated logout: loginguard's session ends too.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(sso.app_url + "/")
    page.goto(sso.stack.base_url + "/")
    expect(page).to_have_url(sso.stack.base_url + "/login/")
    context.close()
