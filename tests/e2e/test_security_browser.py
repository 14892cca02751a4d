"""The user record and Security section in Chromium (issue: Security section)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "e2e-security-passphrase"


@pytest.fixture(scope="module")
def dana(stack: Stack) -> str:
    stack.cli("create_account", "Security Corp")
    stack.cli("create_user", "dana", "--email", "dana@sec.example", "--account",
              "Security Corp", "--password-stdin", stdin=PASSWORD + "\n")
    stack.cli("create_user", "sadmin", "--email", "sadmin@sec.example", "--account",
              "Security Corp", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    return "dana@sec.example"


def sign_in(page: Page, stack: Stack, username: str, email: str, trust: str) -> None:
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if page.url.endswith("/login/verify/"):
        page.get_by_label("Verification code").fill(stack.inbox.code(email, after=before))
        page.get_by_role("button", name="Verify").click()
        if trust == "yes":
            page.get_by_label("Yes", exact=True).check()
            page.get_by_label("Device name").fill("Desk PC")
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("header-username")).to_have_text(username)


def test_security_section_end_to_end(browser: Browser, stack: Stack, dana: str) -> None:
    other = browser.new_context(user_agent=UA).new_page()
    sign_in(other, stack, "dana", dana, "no")  # a second session, to sign out later
    page = browser.new_context(user_agent=UA).new_page()
    sign_in(page, stack, "dana", dana, "yes")

    menu = page.get_by_label("Account menu for dana")
    menu.focus()  # keyboard: Enter opens the pop-up, Escape closes it and keeps focus
    page.keyboard.press("Enter")
    edit_user = page.locator(".popup").get_by_role("link", name="Edit User")
    expect(edit_user).to_be_visible()
    page.keyboard.press("Escape")
    expect(edit_user).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()  # the icon opens the pop-up
    edit_user.click()
    expect(page.get_by_role("heading", name="dana")).to_be_visible()
    expect(page.get_by_role("link", name="User Details")).to_have_attribute(
        "aria-current", "page")

    security = page.locator("#security")
    security.get_by_label("Password").fill(PASSWORD)
    security.get_by_role("button", name="Unlock").click()
    expect(page.get_by_text("Security section unlocked for 10 minutes.")).to_be_visible()

    name = security.get_by_label("Name of Desk PC")
    name.fill("Home desktop")
    security.get_by_role("button", name="Rename").click()
    expect(security.get_by_label("Name of Home desktop")).to_be_visible()

    security.get_by_label("Token name").fill("nightly export")
    security.get_by_role("button", name="Create token").click()
    expect(page).to_have_url(re.compile(r"/users/\d+/#new-token$"))  # post/redirect/get
    new_token = page.get_by_test_id("new-token")
    expect(new_token).to_be_in_viewport()  # the one view of it is where the eye is
    token = new_token.input_value()
    assert re.fullmatch(r"lgp_[0-9A-Za-z]{38}", token)
    page.reload()  # reloading repeats nothing and shows the token no more
    assert token not in page.content()
    expect(page.locator("#security").get_by_text("nightly export")).to_have_count(1)

    page.locator("#security").get_by_role("link", name=re.compile("^Sign out Chrome")).click()
    expect(page.get_by_role("heading", name="Sign out a session")).to_be_visible()
    page.get_by_role("button", name="Sign it out").click()  # confirmed
    expect(page.get_by_text("Signed out “Chrome on Linux”.")).to_be_visible()
    other.goto(stack.base_url + "/")
    expect(other).to_have_url(stack.base_url + "/login/")

    page.locator("#security").get_by_role("link", name="Remove Home desktop…").click()
    page.get_by_role("link", name="Cancel").click()  # changed my mind: nothing happens
    expect(page.locator("#security").get_by_label("Name of Home desktop")).to_be_visible()
    page.locator("#security").get_by_role("link", name="Remove Home desktop…").click()
    confirm = page.get_by_role("button", name="Remove device")
    # The safe choice has the focus (issue 28): Enter alone removes nothing. The keyboard
    # reaches the destructive button one Shift+Tab back.
    expect(page.get_by_test_id("confirm-cancel")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("is no longer trusted")).to_be_visible()
    log = page.get_by_role("table", name="Security log")
    for event in ["API token created", "Trusted device removed", "Trusted device renamed",
                  "Security section unlocked", "Session signed out remotely"]:
        expect(log.get_by_text(event).first).to_be_visible()
    page.screenshot(path=stack.env["LOGINGUARD_VAR_DIR"] + "/security.png", full_page=True)


def test_admin_sees_no_unlock_field_on_another_users_record(browser: Browser, stack: Stack,
                                                            dana: str) -> None:
    page = browser.new_context(user_agent=UA).new_page()
    sign_in(page, stack, "sadmin", "sadmin@sec.example", "no")
    page.goto(stack.base_url + "/login/")  # signed in already: bounced home
    dana_id = stack.cli("shell", "-c", "from loginguard.users.models import User; "
                        "print(User.objects.get(username='dana').pk)").strip().splitlines()[-1]
    page.goto(f"{stack.base_url}/users/{dana_id}/")
    security = page.locator("#security")
    expect(security.get_by_text("can unlock this section")).to_be_visible()
    expect(security.get_by_label("Password")).to_have_count(0)
