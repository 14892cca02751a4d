"""Factors beyond the mailbox in Chromium (SPEC §14, issue 27), on an installation served
as http://localhost (WebAuthn refuses an IP address as relying party). Passkeys come from
Chromium's virtual authenticator (DevTools WebAuthn domain: ctap2, resident keys, user
verification), driven through the pages' one static script under the strict CSP:

- add a passkey in the unlocked Security section, sign in with it as the second step and
  without a password, unlock the section with it;
- a passkey of another user (the page's options tampered so the browser offers it) and a
  credential for another RP ID are refused;
- an authenticator app added from the QR page's key, its code at the second step, recovery
  codes shown once and downloaded; without JavaScript everything but the passkey buttons;
- the new pages have no axe-core violation at 1280 and 390 px and fit a phone's width."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.e2e.conftest import Stack, free_port, running_stack
from tests.e2e.test_pages_a11y import WIDTHS, Checker

pytestmark = pytest.mark.e2e

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "e2e-passkey-passphrase-7"


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port = free_port()
    with running_stack(tmp_path_factory.mktemp("passkeys"), web_port=port,
                       BASE_URL=f"http://localhost:{port}") as stack:
        stack.cli("create_account", "Key Corp")
        for name, extra in (("pia", []), ("quinn", []), ("kadmin", ["--admin"]),
                            ("nojs", []), ("axe_keys_desktop", []),
                             ("axe_keys_phone", [])):
            stack.cli("create_user", name, "--email", f"{name}@keys.example", "--account",
                      "Key Corp", *extra, "--password-stdin", stdin=PASSWORD + "\n")
        yield stack


# Chromium's virtual authenticator answers the sign-in page's autofill request (WebAuthn
# conditional mediation) by itself, as if the user picked the passkey at once; to press
# the "Sign in with a passkey" button instead, the tests hide that browser feature unless
# the URL asks for it (?autofill).
NO_AUTOFILL = ("if (!location.search.includes('autofill') && window.PublicKeyCredential) "
               "{ PublicKeyCredential.isConditionalMediationAvailable = "
               "() => Promise.resolve(false); }")


def authenticator(context: BrowserContext, page: Page) -> tuple[Any, str]:
    """A virtual platform authenticator for this page: a passkey with user verification."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    return cdp, str(added["authenticatorId"])


def user_id(stack: Stack, username: str) -> str:
    out = stack.cli("shell", "-c", "from loginguard.users.models import User; "
                    f"print(User.objects.get(username='{username}').pk)")
    return out.strip().splitlines()[-1]


def email_sign_in(page: Page, stack: Stack, username: str) -> None:
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if page.get_by_role("button", name="Email me a code instead").count():
        page.get_by_role("button", name="Email me a code instead").click()
    page.get_by_label("Verification code").fill(
        stack.inbox.code(f"{username}@keys.example", after=before))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("header-username")).to_have_text(username)


def unlock_with_password(page: Page, stack: Stack, username: str) -> None:
    page.goto(f"{stack.base_url}/users/{user_id(stack, username)}/")
    page.locator("#security").get_by_label("Your password").fill(PASSWORD)
    page.locator("#security").get_by_role("button", name="Unlock", exact=True).click()
    expect(page.get_by_text("Security section unlocked for 10 minutes.")).to_be_visible()


def add_passkey(page: Page, name: str) -> None:
    security = page.locator("#security")
    security.get_by_label("Passkey name").fill(name)
    security.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Passkey added. You can sign in with it now.")).to_be_visible()


def log_out(page: Page, stack: Stack) -> None:
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.wait_for_load_state("networkidle")


def test_passkeys_end_to_end(browser: Browser, local_stack: Stack) -> None:
    stack = local_stack
    context = browser.new_context(user_agent=UA)
    context.add_init_script(NO_AUTOFILL)
    page = context.new_page()
    cdp, authenticator_id = authenticator(context, page)

    # Add a passkey in the unlocked Security section.
    email_sign_in(page, stack, "pia")
    unlock_with_password(page, stack, "pia")
    add_passkey(page, "This laptop")
    row = page.locator("#security tr", has_text="This device only")
    expect(row.get_by_label("Name of This laptop")).to_be_visible()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(credentials["credentials"]) == 1
    assert credentials["credentials"][0]["isResidentCredential"] is True
    assert credentials["credentials"][0]["rpId"] == "localhost"
    added = stack.inbox.wait_for("pia@keys.example", "sign-in factor was added")
    assert "This laptop" in stack.inbox.text(added)

    # "Sign in with a passkey": no password, no code, no trust prompt.
    log_out(page, stack)
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_test_id("header-username")).to_have_text("pia")
    assert not [m for m in stack.inbox.messages[before:] if "code" in str(m["Subject"])]
    # The browser's autofill offers the passkey in the username field (conditional
    # mediation): picking it signs in as well.
    log_out(page, stack)
    page.goto(stack.base_url + "/login/?autofill=1")
    expect(page.get_by_test_id("header-username")).to_have_text("pia")

    # Unlock the Security section with the passkey instead of the password.
    page.goto(f"{stack.base_url}/users/{user_id(stack, 'pia')}/")
    security = page.locator("#security")
    expect(security.get_by_text("your password alone does not unlock")).to_be_visible()
    security.get_by_role("button", name="Unlock with your passkey").click()
    expect(page.get_by_text("Security section unlocked for 10 minutes.")).to_be_visible()

    # The passkey as the second step after the password (the trust prompt follows).
    log_out(page, stack)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Use your passkey")).to_be_visible()
    expect(page.get_by_role("button", name="Email me a code instead")).to_be_visible()
    page.get_by_role("button", name="Use your passkey").click()
    expect(page).to_have_url(stack.base_url + "/login/trust/")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("header-username")).to_have_text("pia")
    stack.inbox.wait_for("pia@keys.example", "untrusted device")
    context.close()


def test_another_users_passkey_and_another_rp_id_are_refused(browser: Browser,
                                                             local_stack: Stack) -> None:
    stack = local_stack
    # quinn's passkey lives in this browser's authenticator.
    context = browser.new_context(user_agent=UA)
    context.add_init_script(NO_AUTOFILL)
    page = context.new_page()
    cdp, authenticator_id = authenticator(context, page)
    email_sign_in(page, stack, "quinn")
    unlock_with_password(page, stack, "quinn")
    add_passkey(page, "Quinn's key")
    # pia's own passkey is in another browser (the first test): here, she passes her
    # password; the page asks for her passkeys only, so the options are tampered with to
    # let the browser offer quinn's. The server refuses it.
    log_out(page, stack)
    email_sign_in_page = page
    email_sign_in_page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Use your passkey")).to_be_visible()

    def any_credential(route: Route) -> None:
        response = route.fetch()
        data = response.json()
        data["publicKey"]["allowCredentials"] = []
        route.fulfill(response=response, body=json.dumps(data))

    page.route("**/login/verify/passkey/options/", any_credential)
    page.get_by_role("button", name="Use your passkey").click()
    expect(page.get_by_text("That passkey is not one of this account's")).to_be_visible()
    expect(page).to_have_url(stack.base_url + "/login/verify/")
    expect(page.get_by_test_id("header-username")).to_have_count(0)

    # A credential for another RP ID: the browser finds none for this site, and nothing
    # signs in. (The server's own RP ID hash check: tests/factors/test_passkeys.py.)
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator_id})
    import base64
    import secrets as random

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator_id, "credential": {
        "credentialId": base64.b64encode(random.token_bytes(16)).decode(),
        "isResidentCredential": True, "rpId": "evil.example",
        "privateKey": base64.b64encode(key).decode(),
        "userHandle": base64.b64encode(b"quinn-elsewhere").decode(), "signCount": 0}})
    page.unroute("**/login/verify/passkey/options/")
    page.goto(stack.base_url + "/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("[data-passkey-error]")).to_be_visible(timeout=20000)
    expect(page.get_by_test_id("header-username")).to_have_count(0)
    context.close()


def test_app_recovery_codes_and_pages_without_javascript(browser: Browser,
                                                         local_stack: Stack) -> None:
    stack = local_stack
    context = browser.new_context(user_agent=UA, java_script_enabled=False)
    page = context.new_page()
    page.goto(stack.base_url + "/login/")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    email_sign_in(page, stack, "nojs")
    unlock_with_password(page, stack, "nojs")
    security = page.locator("#security")
    expect(security.get_by_role("button", name="Add a passkey")).to_be_hidden()
    # An authenticator app from the key typed by hand (the QR code is an SVG image).
    security.get_by_role("link", name="Add an authenticator app").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    page.get_by_text("Can't scan it? Type this key instead").click()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Name").fill("Phone")
    page.get_by_role("textbox", name="Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Authenticator app added.")).to_be_visible()
    # Recovery codes: shown once, downloadable.
    page.locator("#security").get_by_role("button", name="Create recovery codes").click()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a text file").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert all(code in text for code in codes)
    page.reload()
    expect(page.get_by_test_id("recovery-codes")).to_have_count(0)
    # The app's code at the second step; a recovery code too, without JavaScript.
    log_out(page, stack)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill("nojs")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter the code from your app")).to_be_visible()
    # The step after the one that confirmed the app (each step's code works once; the
    # next one is accepted early: one step of clock skew).
    page.get_by_role("textbox", name="Code from your app").fill(
        pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("header-username")).to_have_text("nojs")
    log_out(page, stack)
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill("nojs")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_role("textbox", name="Recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("header-username")).to_have_text("nojs")
    used = stack.inbox.wait_for("nojs@keys.example", "recovery code was used", after=before)
    assert "9" in stack.inbox.text(used)
    context.close()


def fits(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_the_factor_pages_pass_axe_and_fit_a_phone(browser: Browser,
                                                   local_stack: Stack) -> None:
    stack = local_stack
    problems: list[str] = []
    stack.cli("set_factor_policy", "--account", "Key Corp", "--admins", "passkey")
    for width, viewport in WIDTHS.items():
        check = Checker(f"factors-{width}")  # its own screenshot folder
        context = browser.new_context(user_agent=UA, viewport=viewport, bypass_csp=True)
        context.add_init_script(NO_AUTOFILL)
        page = context.new_page()
        authenticator(context, page)
        # The enrolment a stricter policy leads to (kadmin: admins need a passkey).
        email_sign_in_forced(page, stack, "kadmin")
        check(page, "enroll")
        page.goto(stack.base_url + "/security/factors/apps/add/")
        check(page, "app-add-qr")
        if not fits(page):
            problems.append(f"{width}: the QR page is wider than the screen")
        page.get_by_role("banner").get_by_role("button", name="Log out").click()
        # The Security section with every factor, recovery codes shown once.
        user = f"axe_keys_{width}"
        email_sign_in(page, stack, user)
        unlock_with_password(page, stack, user)
        add_passkey(page, "Desk key")
        page.locator("#security").get_by_role(
            "link", name="Add an authenticator app").click()
        page.get_by_text("Can't scan it? Type this key instead").click()
        secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
        page.get_by_role("textbox", name="Code from your app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Verify").click()
        page.locator("#security").get_by_role("button", name="Create recovery codes").click()
        expect(page.get_by_test_id("recovery-codes")).to_be_visible()
        check(page, "recovery-codes-shown")
        if not fits(page):
            problems.append(f"{width}: the recovery-code page is wider than the screen")
        page.get_by_role("banner").get_by_role("button", name="Log out").click()
        # The second step's pages: passkey first, the app, a recovery code.
        page.goto(stack.base_url + "/login/")
        check(page, "login-with-passkey-button")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        check(page, "second-step")
        page.get_by_role("link", name="Use a recovery code").click()
        check(page, "second-step-recovery")
        context.close()
        problems += check.violations
    assert not problems, "\n".join(problems)


def email_sign_in_forced(page: Page, stack: Stack, username: str) -> None:
    """A sign-in that ends on the enrolment page (the account asks for more)."""
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Verification code").fill(
        stack.inbox.code(f"{username}@keys.example", after=before))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(stack.base_url + "/security/factors/enroll/")
