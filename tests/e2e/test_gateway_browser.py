"""The reseller gateway in Chromium (issue: gateway and account administration)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "e2e-reseller-passphrase"
ADMIN_PASSWORD = "umbrella-admin-passphrase"


def sign_in(page: Page, stack: Stack, username: str, password: str, email: str) -> None:
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Verification code").fill(stack.inbox.code(email, after=before))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Continue").click()  # "No" is preselected
    expect(page.get_by_test_id("header-username")).to_have_text(username)


def test_reseller_to_admin_to_invited_user(browser: Browser, stack: Stack) -> None:
    stack.cli("create_reseller", "Umbrella Partners")
    stack.cli("create_user", "rex", "--email", "rex@umbrella.example", "--reseller",
              "Umbrella Partners", "--password-stdin", stdin=PASSWORD + "\n")
    reseller = browser.new_context(user_agent=UA).new_page()
    sign_in(reseller, stack, "rex", PASSWORD, "rex@umbrella.example")
    reseller.get_by_label("Account menu for rex").click()
    reseller.locator(".popup").get_by_role("link", name="Reseller gateway").click()
    before = len(stack.inbox.messages)
    reseller.get_by_label("Account name").fill("Umbrella Retail")
    reseller.get_by_label("Admin username").fill("ada")
    reseller.get_by_label("Admin email").fill("ada@retail.example")
    reseller.get_by_role("button", name="Create account and invite admin").click()
    expect(reseller.get_by_role("table", name="Client accounts")).to_contain_text(
        "Umbrella Retail")

    invitation = stack.inbox.text(stack.inbox.wait_for("ada@retail.example", "invited",
                                                       after=before))
    link = re.search(r"http://\S+/invite/\S+/", invitation).group(0)  # type: ignore[union-attr]
    admin = browser.new_context(user_agent=UA).new_page()
    admin.goto(link)
    admin.get_by_label("New password", exact=True).fill(ADMIN_PASSWORD)
    admin.get_by_label("Repeat the new password").fill(ADMIN_PASSWORD)
    admin.get_by_role("button", name="Set password").click()
    expect(admin.get_by_text("Your password is set.")).to_be_visible()
    sign_in(admin, stack, "ada", ADMIN_PASSWORD, "ada@retail.example")

    admin.get_by_role("link", name="Manage users of Umbrella Retail").click()
    admin.get_by_label("Username").fill("ian")
    admin.get_by_label("Email", exact=True).fill("ian@retail.example")
    admin.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_role("table", name="Users")).to_contain_text("Invited")
    stack.inbox.wait_for("ian@retail.example", "invited", after=before)

    admin.get_by_role("link", name="Permissions of ian").click()
    admin.get_by_label("Active").uncheck()
    admin.get_by_role("button", name="Save permissions").click()
    expect(admin.get_by_text("Permissions saved.")).to_be_visible()
    admin.goto(admin.url.split("/users/")[0] + "/")
    admin.get_by_role("link", name="Manage users of Umbrella Retail").click()
    expect(admin.get_by_role("row", name=re.compile("ian"))).to_contain_text("Inactive")
    admin.screenshot(path=stack.env["LOGINGUARD_VAR_DIR"] + "/admin.png", full_page=True)
