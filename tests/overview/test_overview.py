"""The admins' security overview (issue 29, parts 2 and 3): an account's for its client
admins and connected reseller users, a reseller user's across their accounts, the charts
as SVG images, CSV, the numbers' links, and nobody counting what they may not see."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.management import call_command

from loginguard.actions.users import user_create
from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.lib import clock
from loginguard.overview.views import safe_cell
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, Visitor

pytestmark = pytest.mark.django_db
ATTACKER = "203.0.113.66"


def signed_in(user: Any, **kwargs: Any) -> Visitor:
    visitor = Visitor(**kwargs)
    assert visitor.sign_in(user).headers["Location"] == "/"
    return visitor


def failed_passwords(username: str, n: int, ip: str = ATTACKER) -> None:
    attacker = Visitor(ip=ip)
    for _ in range(n):
        attacker.password(username, "not the password at all")


def overview(visitor: Visitor, account: ClientAccount, query: str = "") -> str:
    response = visitor.get(f"/accounts/{account.pk}/overview/{query}")
    assert response.status_code == 200
    return str(response.content.decode())


def figure(page: str, label: str) -> int:
    """The number of a key figure (the <li> whose label is ``label``)."""
    before = page.split(f'<span class="figure-label">{label}</span>')[0]
    return int(before.rsplit('<span class="figure-number">', 1)[1].split("<")[0])


def test_an_account_admin_sees_the_accounts_figures_charts_and_lists(
        personas: Personas) -> None:
    signed_in(personas.member)
    failed_passwords("bob", 3)
    alice = signed_in(personas.admin)
    page = overview(alice, personas.account)
    assert figure(page, "Sign-ins") == 2  # bob and alice
    assert figure(page, "Failed passwords") == 3
    assert figure(page, "Untrusted-device sign-ins") == 2
    assert figure(page, "Users with email only") == 2
    # Each number links to what is behind it.
    log = f"/accounts/{personas.account.pk}/log/"
    assert f'href="{log}?type=login.failed&amp;since=30"' in page
    assert f'href="{log}?ip={ATTACKER}&amp;since=30"' in page and ">3</a>" in page
    assert f'href="/accounts/{personas.account.pk}/?show=none"' in page
    # The charts are images with a text alternative and the table behind them.
    assert f'src="/accounts/{personas.account.pk}/overview/charts/sign-ins.svg?days=30"' \
        in page
    assert 'alt="Sign-ins per day over the last 30 days: 2 in all' in page
    assert page.count("<details class=\"chart-table\">") == 2
    # No script on the page: everything works without JavaScript.
    assert "<script" not in page.split("<main")[1]


def test_the_log_link_finds_the_rows_counted(personas: Personas) -> None:
    failed_passwords("bob", 2)
    failed_passwords("bob", 1, ip="198.51.100.200")
    alice = signed_in(personas.admin)
    log = alice.get(f"/accounts/{personas.account.pk}/log/?ip={ATTACKER}&since=30"
                    "&type=login.failed").content.decode()
    assert log.count('<td data-label="Event">Failed sign-in</td>') == 2
    assert "198.51.100.200" not in log
    for bad in ("ip=not-an-ip", "ip=" + "9" * 500, "since=7", "since=x", "page=zz",
                "ip=%00", "type=%00"):
        assert alice.get(f"/accounts/{personas.account.pk}/log/?{bad}").status_code == 200


def test_the_user_lists_behind_the_numbers(personas: Personas) -> None:
    alice = signed_in(personas.admin)
    ghost = user_create(username="ghost", email="ghost@acme.example",
                        account=personas.account, password=PASSWORD)
    User.objects.filter(pk=ghost.pk).update(date_joined=clock.now() - timedelta(days=200),
                                            last_login=clock.now() - timedelta(days=120))
    gone = user_create(username="gone", email="gone@acme.example", account=personas.account,
                       password=PASSWORD)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    base = f"/accounts/{personas.account.pk}/"
    inactive = alice.get(base + "?show=inactive").content.decode()
    assert ">ghost</a>" in inactive and ">alice</a>" not in inactive
    assert ">gone</a>" not in inactive
    deactivated = alice.get(base + "?show=deactivated").content.decode()
    assert ">gone</a>" in deactivated and ">ghost</a>" not in deactivated
    page = overview(alice, personas.account)
    assert figure(page, "Not signed in for 90 days") == 1
    assert figure(page, "Deactivated") == 1
    assert alice.get(base + "?show=%00").status_code == 200
    assert ">bob</a>" in alice.get(base + "?show=bogus").content.decode()  # unknown: all


def test_locked_out_users_are_listed(personas: Personas) -> None:
    bob = Visitor()
    bob.password("bob")
    for _ in range(10):
        bob.code("000000")
    assert AuditEvent.objects.filter(event_type=EventType.CODE_LOCKED).exists()
    alice = signed_in(personas.admin)
    page = overview(alice, personas.account)
    assert figure(page, "Code lock-outs") == 1 and figure(page, "Locked out (24 h)") == 1
    clock.advance(timedelta(hours=25))
    alice = signed_in(personas.admin)
    assert figure(overview(alice, personas.account), "Locked out (24 h)") == 0


def test_90_days_and_bad_periods(personas: Personas) -> None:
    signed_in(personas.member)
    clock.advance(timedelta(days=40))
    alice = signed_in(personas.admin)
    assert figure(overview(alice, personas.account), "Sign-ins") == 1
    assert figure(overview(alice, personas.account, "?days=90"), "Sign-ins") == 2
    for bad in ("?days=7", "?days=x", "?days=", "?days=90&days=30", "?days=%00"):
        assert "Last 30 days</strong>" in overview(alice, personas.account, bad)


def test_the_charts_are_svg_without_script_under_their_own_csp(personas: Personas) -> None:
    signed_in(personas.member)
    alice = signed_in(personas.admin)
    for name in ("sign-ins", "trouble", "factors"):
        response = alice.get(f"/accounts/{personas.account.pk}/overview/charts/{name}.svg"
                             "?days=90")
        assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
        assert response["Content-Security-Policy"] == \
            "default-src 'none'; style-src 'unsafe-inline'"
        svg = response.content.decode()
        assert "<script" not in svg
        assert ElementTree.fromstring(svg).get("width") == "720"  # well-formed, sized
        narrow = alice.get(f"/accounts/{personas.account.pk}/overview/charts/{name}.svg"
                           "?size=narrow").content.decode()
        assert ElementTree.fromstring(narrow).get("width") == "360"  # the phone's drawing
    assert alice.get(f"/accounts/{personas.account.pk}/overview/charts/nope.svg") \
        .status_code == 404


def test_csv_exports(personas: Personas) -> None:
    signed_in(personas.member)
    failed_passwords("bob", 2)
    alice = signed_in(personas.admin)
    base = f"/accounts/{personas.account.pk}/overview/"
    response = alice.get(base + "sign-ins.csv?days=30")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["day", "Trusted device", "Emailed or recovery code", "Passkey or app"]
    assert len(rows) == 31 and sum(int(row[2]) for row in rows[1:]) == 2
    ips = list(csv.reader(io.StringIO(alice.get(base + "ips.csv").content.decode())))
    assert ips == [["ip", "failed attempts"], [ATTACKER, "2"]]
    users = list(csv.reader(io.StringIO(alice.get(base + "none.csv").content.decode())))
    assert users[0][0] == "username" and {row[0] for row in users[1:]} == {"alice", "bob"}
    trouble = alice.get(base + "trouble.csv").content.decode()
    assert trouble.startswith("day,Failed passwords,Code lock-outs,Untrusted-device")
    assert alice.get(base + "secrets.csv").status_code == 404
    assert safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and safe_cell(3) == 3


def test_a_reseller_user_sees_their_accounts_side_by_side(personas: Personas) -> None:
    signed_in(personas.member)
    failed_passwords("sam", 4)  # Globex: not Northwind's
    rita = signed_in(personas.reseller_user)
    page = rita.get("/overview/").content.decode()
    assert "Acme" in page and "Globex" not in page
    assert f'href="/accounts/{personas.account.pk}/overview/?days=30"' in page
    rows = list(csv.reader(io.StringIO(rita.get("/overview/accounts.csv").content.decode())))
    assert [row[0] for row in rows[1:]] == ["Acme"] and rows[1][2] == "1"  # bob's sign-in
    # The account's own overview, from the gateway's side.
    assert figure(overview(rita, personas.account), "Failed passwords") == 0
    for name in ("sign-ins", "trouble", "factors"):
        assert rita.get(f"/overview/charts/{name}.svg").status_code == 200
    for table in ("accounts", "sign-ins", "trouble"):
        assert rita.get(f"/overview/{table}.csv").status_code == 200


@pytest.mark.parametrize("who", ["stranger", "member", "other_reseller_user"])
def test_nobody_counts_an_account_they_do_not_administer(personas: Personas,
                                                          who: str) -> None:
    """Cross-tenant: Globex's admin, Acme's plain user and another reseller's user get a 404
    for every page, chart and CSV of Acme's overview."""
    visitor = signed_in(getattr(personas, who))
    base = f"/accounts/{personas.account.pk}/overview/"
    for path in (base, base + "?days=90", base + "charts/sign-ins.svg",
                 base + "charts/trouble.svg", base + "charts/factors.svg",
                 base + "sign-ins.csv", base + "ips.csv", base + "inactive.csv"):
        assert visitor.get(path).status_code == 404, path


def test_the_across_page_is_only_for_reseller_users(personas: Personas) -> None:
    bob = signed_in(personas.member)
    assert bob.get("/overview/").status_code == 404
    assert bob.get("/overview/accounts.csv").status_code == 404
    assert bob.get("/overview/charts/sign-ins.svg").status_code == 404
    alice = signed_in(personas.admin)
    assert alice.get("/overview/").headers["Location"] == \
        f"/accounts/{personas.account.pk}/overview/"
    assert alice.get("/overview/accounts.csv").status_code == 404
    sue = signed_in(personas.other_reseller_user)  # connected to nothing
    page = sue.get("/overview/").content.decode()
    assert "not connected to any active client account" in page and "Acme" not in page
    assert Visitor().get("/overview/").status_code == 302  # signed out: to the sign-in


def test_another_accounts_events_never_reach_the_counts(personas: Personas) -> None:
    failed_passwords("sam", 5, ip="192.0.2.55")
    signed_in(personas.stranger)
    alice = signed_in(personas.admin)
    page = overview(alice, personas.account)
    assert figure(page, "Failed passwords") == 0 and "192.0.2.55" not in page
    assert figure(page, "Sign-ins") == 1


def test_factor_adoption_against_the_policy(personas: Personas) -> None:
    from loginguard.factors.models import AuthenticatorApp
    AuthenticatorApp.objects.create(user=personas.member, name="Phone", secret="x",
                                    created_at=clock.now(), last_step=0)
    alice = signed_in(personas.admin)  # signed in before the policy changed
    ClientAccount.objects.filter(pk=personas.account.pk).update(
        factor_policy="app_or_passkey")
    page_text = overview(alice, personas.account)
    assert "An authenticator app or a passkey</strong> for users" in page_text
    assert "<strong>1</strong> active user has not added" in page_text  # alice
    assert f'href="/accounts/{personas.account.pk}/?show=app">1</a>' in page_text  # bob


def test_the_operators_report(personas: Personas) -> None:
    signed_in(personas.member)
    failed_passwords("sam", 2)
    out = io.StringIO()
    call_command("report", stdout=out)
    text = out.getvalue()
    assert "2 client account(s)" in text and "failed passwords 2" in text
    lines = text.splitlines()
    table = lines[lines.index("") + 1:]
    assert table[0].startswith("account") and table[1].startswith("Globex")  # busiest first
    out = io.StringIO()
    call_command("report", "--csv", "--reseller", "Northwind", "--days", "90", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert [row[0] for row in rows[1:]] == ["Acme"]
