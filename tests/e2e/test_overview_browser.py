"""The home and the security overview in Chromium with JavaScript off (issue 29): the
alert is answered by a plain form, the charts are images the browser draws (an SVG it
refused, for its type or its CSP, would have no natural size), the CSV downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "overview-long-passphrase-29"


def sign_in(page: Page, stack: Stack, name: str) -> None:
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Verification code").fill(
        stack.inbox.code(f"{name}@view.example", after=before))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Continue").click()  # "No": an untrusted sign-in
    expect(page.get_by_test_id("header-username")).to_have_text(name)


def test_home_and_overview_without_javascript(browser: Browser, stack: Stack) -> None:
    stack.cli("create_account", "View Co")
    for name, extra in (("vera", ["--admin"]), ("vic", [])):
        stack.cli("create_user", name, "--email", f"{name}@view.example", "--account",
                  "View Co", *extra, "--password-stdin", stdin=PASSWORD + "\n")
    context = browser.new_context(user_agent=UA, java_script_enabled=False,
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, stack, "vic")
    alerts = page.get_by_role("region", name="Alerts from the last 30 days 1 to check")
    expect(alerts).to_contain_text("Sign-in from a device you had not trusted")
    # Answering needs the unlock: the section is one click away, then the same button.
    alerts.get_by_role("button", name="This was me").click()
    expect(page.get_by_role("heading", name="Unlock the Security section first")).to_be_visible()
    page.get_by_role("link", name="Go to your Security section").click()
    page.locator("#security").get_by_label("Your password").fill(PASSWORD)
    page.locator("#security").get_by_role("button", name="Unlock").click()
    page.goto(stack.base_url + "/")
    page.get_by_role("button", name="This was me").click()
    expect(page.get_by_text("Thanks. The alert is closed.")).to_be_visible()
    expect(page.get_by_text("You said this was you.")).to_be_visible()
    context.close()

    context = browser.new_context(user_agent=UA, java_script_enabled=False,
                                  accept_downloads=True)
    page = context.new_page()
    sign_in(page, stack, "vera")
    page.get_by_role("link", name="Security overview").click()
    expect(page.get_by_role("heading", name="View Co · security overview")).to_be_visible()
    figures = page.get_by_role("list", name="Key figures, last 30 days")
    expect(figures.get_by_role("link", name="2 Sign-ins")).to_be_visible()
    images = page.locator(".chart img")
    assert images.count() == 3
    for i in range(3):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        # Page scripts are off; Playwright's own evaluation still reads the image.
        assert image.evaluate("img => img.complete && img.naturalWidth") == 720
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV: Sign-ins per day").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "day,Trusted device,Emailed or recovery code,Passkey or app"
    page.get_by_role("link", name="2 Untrusted-device sign-ins").click()
    expect(page.get_by_role("table", name="Account security log")).to_contain_text(
        "Signed in from an untrusted device")
    context.close()
