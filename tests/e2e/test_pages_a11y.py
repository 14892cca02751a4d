"""Every page at desktop and phone width in Chromium: axe-core finds no accessibility
violation, and a screenshot of each goes to test-results/screenshots/<width>/ for people
to look at (issue 16). The test prints the list of files it wrote."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results" / "screenshots"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "a11y-long-passphrase-42"


@pytest.fixture(scope="module")
def people(stack: Stack) -> dict[str, str]:
    stack.cli("create_reseller", "Ally Partners")
    stack.cli("create_account", "Ally Corp", "--reseller", "Ally Partners")
    for name, extra in (("axe_admin", ["--account", "Ally Corp", "--admin"]),
                        ("axe_user", ["--account", "Ally Corp"]),
                        ("axe_reseller", ["--reseller", "Ally Partners"])):
        stack.cli("create_user", name, "--email", f"{name}@ally.example", *extra,
                  "--password-stdin", stdin=PASSWORD + "\n")
    stack.cli("connect_user", "axe_reseller", "--account", "Ally Corp")
    ids = stack.cli("shell", "-c", (
        "from loginguard.users.models import User; "
        "from loginguard.tenancy.models import ClientAccount; "
        "print(ClientAccount.objects.get(name='Ally Corp').pk, "
        "*[User.objects.get(username=n).pk "
        "for n in ('axe_admin', 'axe_user', 'axe_reseller')])"))
    account, ally, mel, rex = ids.strip().splitlines()[-1].split()
    return {"account": account, "axe_admin": ally, "axe_user": mel, "axe_reseller": rex}


class Checker:
    """Runs axe on a page, keeps a screenshot, collects violations."""

    def __init__(self, width: str) -> None:
        self.width = width
        self.axe = Axe()
        self.violations: list[str] = []
        self.shots: list[Path] = []

    def __call__(self, page: Page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        results = self.axe.run(page)
        for violation in results.response["violations"]:
            targets = [n["target"] for n in violation["nodes"]][:3]
            self.violations.append(f"{self.width} {name}: {violation['id']} "
                                   f"({violation['help']}) at {targets}")
        path = SHOTS / self.width / f"{len(self.shots) + 1:02d}-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)


def sign_in(page: Page, stack: Stack, name: str, check: Checker | None = None) -> None:
    before = len(stack.inbox.messages)
    page.goto(stack.base_url + "/login/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(stack.base_url + "/login/verify/")
    if check:
        check(page, "sign-in-code")
    page.get_by_label("Verification code").fill(
        stack.inbox.code(f"{name}@ally.example", after=before))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(stack.base_url + "/login/trust/")
    if check:
        page.get_by_label("Yes", exact=True).check()
        check(page, "sign-in-trust")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("header-username")).to_have_text(name)


def charts_drawn(page: Page) -> None:
    """Every chart image of the overview loaded and was drawn (an SVG the browser refused,
    for its type or its CSP, has no natural size)."""
    charts = page.locator(".chart img")
    assert charts.count() == 3
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        expect(charts.nth(i)).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=charts.nth(i).element_handle())


def link_in(stack: Stack, to: str, subject: str, after: int) -> str:
    """The link in the newest email to ``to`` whose subject mentions ``subject``."""
    message = stack.inbox.wait_for(to, "", after=after)
    for candidate in stack.inbox.messages[after:]:
        if to in str(candidate["To"]) and subject in str(candidate["Subject"]).lower():
            message = candidate
    found = re.search(r"https?://\S+/(?:password/reset|invite)/\S+/", stack.inbox.text(message))
    assert found, stack.inbox.text(message)
    return found.group(0)


def walk(browser: Browser, stack: Stack, people: dict[str, str], check: Checker,
         viewport: dict[str, int]) -> None:
    base = stack.base_url

    def context() -> Any:
        return browser.new_context(user_agent=UA, viewport=viewport, bypass_csp=True)

    # Anonymous pages.
    anon = context().new_page()
    for name, path in (("about", "/about/"), ("login", "/login/"),
                       ("password-reset", "/password/reset/"),
                       ("link-invalid", "/password/reset/MQ/not-a-token/"),
                       ("not-found", "/no-such-page/")):
        anon.goto(base + path)
        check(anon, name)
    before = len(stack.inbox.messages)
    anon.goto(base + "/password/reset/")
    anon.get_by_label("Email").fill("axe_user@ally.example")
    anon.get_by_role("button", name="Send reset link").click()
    check(anon, "password-reset-sent")
    anon.goto(link_in(stack, "axe_user@ally.example", "reset", before))
    check(anon, "password-reset-set-password")
    before = len(stack.inbox.messages)
    stack.cli("create_user", f"axe_invited_{check.width}", "--email",
              f"axe_invited_{check.width}@ally.example", "--account", "Ally Corp", "--invite")
    anon.goto(link_in(stack, f"axe_invited_{check.width}@ally.example", "invit", before))
    check(anon, "invitation-set-password")
    anon.goto(base + "/login/")
    anon.context.clear_cookies()  # the form's CSRF cookie is gone: the refusal page
    anon.get_by_label("Username").fill("axe_user")
    anon.get_by_label("Password").fill("x")
    anon.get_by_role("button", name="Log in").click()
    expect(anon.get_by_role("heading", name="Please try that again")).to_be_visible()
    check(anon, "csrf-failure")
    anon.context.close()

    # A client user: sign-in pages, the record's tabs, the Security section.
    page = context().new_page()
    sign_in(page, stack, "axe_user", check)
    check(page, "home")
    record = f"{base}/users/{people['axe_user']}/"
    page.goto(record)
    check(page, "record-details-locked")
    page.goto(record + "permissions/")
    check(page, "record-permissions-own")
    page.goto(record + "notifications/")
    check(page, "record-notifications")
    page.goto(f"{base}/security/devices/remove-all/")  # an action while locked: 403 page
    check(page, "security-locked")
    page.goto(record)
    page.locator("#security").get_by_label("Your password").fill(PASSWORD)
    page.locator("#security").get_by_role("button", name="Unlock").click()
    page.locator("#security").get_by_label("Token name").fill("a11y check")
    page.locator("#security").get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("new-token")).to_be_in_viewport()
    check(page, "security-new-token")
    page.goto(record)
    check(page, "security-unlocked")
    page.locator("#security").get_by_role("link", name=re.compile("^Remove .*…$")).first.click()
    check(page, "confirm-remove-device")
    page.goto(base + "/logout/")
    check(page, "confirm-log-out")
    page.context.close()

    # A client admin: account administration, another user's record, deactivation.
    page = context().new_page()
    sign_in(page, stack, "axe_admin")
    account = f"{base}/accounts/{people['account']}/"
    page.goto(account)
    page.get_by_label("App name").fill(f"Ally reports {check.width}")
    # A public address (the live server resolves names for real, and *.example has no DNS
    # here): an account's app must be reachable on the public internet (issue 25, S2).
    page.get_by_label("Redirect URI").fill("https://93.184.215.14/callback/")
    page.get_by_role("button", name="Register app").click()
    expect(page.get_by_test_id("client-secret")).to_be_visible()
    client_id = page.get_by_test_id("client-id").inner_text()
    check(page, "account-admin")
    page.goto(account + "log/")
    check(page, "account-log")
    page.goto(account + "overview/")
    charts_drawn(page)
    check(page, "account-overview")
    page.goto(f"{base}/users/{people['axe_user']}/")
    check(page, "record-of-another-user")
    page.goto(f"{base}/users/{people['axe_user']}/permissions/")
    check(page, "record-permissions-admin")
    page.goto(f"{base}/users/{people['axe_user']}/deactivate/")
    check(page, "confirm-deactivate")
    page.context.close()

    # Single sign-on: an account's app asks its user for consent once.
    page = context().new_page()
    sign_in(page, stack, "axe_user")
    page.goto(f"{base}/o/authorize/?response_type=code&client_id={client_id}"
              "&redirect_uri=https%3A%2F%2F93.184.215.14%2Fcallback%2F"
              "&scope=openid+profile+account&state=s&code_challenge=" + "a" * 43
              + "&code_challenge_method=S256")
    expect(page.get_by_role("heading", name=re.compile("^Allow Ally reports"))).to_be_visible()
    check(page, "sso-consent")
    page.context.close()

    # A reseller user: the gateway.
    page = context().new_page()
    sign_in(page, stack, "axe_reseller")
    page.goto(base + "/gateway/")
    check(page, "gateway")
    page.goto(f"{base}/gateway/accounts/{people['account']}/")
    check(page, "gateway-account")
    page.goto(f"{base}/gateway/accounts/{people['account']}/suspend/")
    check(page, "confirm-suspend-account")
    page.goto(base + "/overview/")
    charts_drawn(page)
    check(page, "overview-across-accounts")
    page.context.close()


@pytest.fixture(scope="module")
def walked(browser: Browser, stack: Stack, people: dict[str, str]) -> Iterator[list[Checker]]:
    checkers = []
    for width, viewport in WIDTHS.items():
        checker = Checker(width)
        walk(browser, stack, people, checker, viewport)
        checkers.append(checker)
    print("\nScreenshots:", *(str(p.relative_to(ROOT)) for c in checkers for p in c.shots),
          sep="\n  ")
    yield checkers


def test_every_page_at_both_widths_has_no_axe_violation(walked: list[Checker]) -> None:
    violations = [v for checker in walked for v in checker.violations]
    assert not violations, "\n".join(violations)


def test_a_screenshot_of_every_page_at_both_widths(walked: list[Checker]) -> None:
    desktop, phone = ([p.name for p in c.shots] for c in walked)
    assert desktop == phone and len(desktop) >= 30
    assert all(p.stat().st_size > 5000 for c in walked for p in c.shots)
