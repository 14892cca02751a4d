"""Sign-in in Chromium against the real server, worker and SMTP (issue: sign-in)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "e2e-correct-horse-battery"


@pytest.fixture(scope="module")
def carol(stack: Stack) -> str:
    stack.cli("create_account", "E2E Corp")
    stack.cli("create_user", "carol", "--email", "carol@e2e.example", "--account", "E2E Corp",
              "--password-stdin", stdin=PASSWORD + "\n")
    return "carol@e2e.example"


def log_in(page: Page, stack: Stack) -> None:
    page.goto(stack.base_url + "/")
    expect(page).to_have_url(stack.base_url + "/login/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_trusting_a_device_skips_the_code_next_time(browser: Browser, stack: Stack,
                                                    carol: str) -> None:
    context = browser.new_context(user_agent=UA)
    page = context.new_page()
    before = len(stack.inbox.messages)
    log_in(page, stack)
    expect(page).to_have_url(stack.base_url + "/login/verify/")
    expect(page.get_by_text("c••••@e•••.example")).to_be_visible()  # never in full
    page.get_by_label("Verification code").fill(stack.inbox.code(carol, after=before))
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(stack.base_url + "/login/trust/")
    no, yes = page.get_by_label("No", exact=True), page.get_by_label("Yes", exact=True)
    expect(no).to_be_checked()
    name = page.get_by_label("Device name")
    expect(name).to_be_hidden()  # revealed only by "Yes"
    yes.check()
    expect(name).to_be_visible()
    expect(name).to_have_value("Chrome on Linux")
    name.fill("E2E laptop")
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(stack.base_url + "/")
    expect(page.get_by_test_id("header-username")).to_have_text("carol")
    stack.inbox.wait_for(carol, "new trusted device", after=before)
    page.screenshot(path=str(stack.env["LOGINGUARD_VAR_DIR"]) + "/home.png", full_page=True)

    page.locator(".header-logout").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(stack.base_url + "/login/")
    codes_before = len([m for m in stack.inbox.messages if "code" in str(m["Subject"])])
    log_in(page, stack)
    expect(page).to_have_url(stack.base_url + "/")  # no code this time
    expect(page.get_by_test_id("header-username")).to_have_text("carol")
    assert len([m for m in stack.inbox.messages if "code" in str(m["Subject"])]) == codes_before

    # Another browser with the very same User-Agent and IP has no device secret.
    other = browser.new_context(user_agent=UA).new_page()
    log_in(other, stack)
    expect(other).to_have_url(stack.base_url + "/login/verify/")
    context.close()


def test_the_login_page_is_keyboard_usable(browser: Browser, stack: Stack, carol: str) -> None:
    page = browser.new_context(user_agent=UA).new_page()
    page.goto(stack.base_url + "/login/")
    expect(page.get_by_label("Username")).to_be_focused()  # autofocus
    page.keyboard.type("carol")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("wrong-password-000")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("don't match")


def test_api_docs_render_under_the_csp(browser: Browser, stack: Stack) -> None:
    page = browser.new_context(user_agent=UA).new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto(stack.base_url + "/api/v1/docs")
    expect(page.get_by_text("loginguard API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/me").first).to_be_visible()
    assert violations == []
