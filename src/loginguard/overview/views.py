"""The security overview's pages (issue 29): an account's, for those who administer it
(client admins, connected reseller users), and a reseller user's across their accounts;
each chart as an SVG image and each table as CSV. Which accounts are counted comes from the
access layer, nowhere else: an admin can only ever count what they may see."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from loginguard.access.guards import access_administered_account, access_reseller
from loginguard.access.rules import visible_accounts
from loginguard.factors.policy import LABELS
from loginguard.factors.registry import with_kinds
from loginguard.overview import charts
from loginguard.overview.queries import (
    ADOPTION_SERIES,
    LIST_LIMIT,
    PERIODS,
    SIGNIN_SERIES,
    TROUBLE_SERIES,
    USER_LISTS,
    account_figures,
    account_users,
    adoption,
    failing_ips,
    list_counts,
    sign_ins_by_day,
    table_rows,
    trouble_by_day,
    user_list,
    window,
)
from loginguard.tenancy.models import ClientAccount
from loginguard.tenancy.policy import account_levels
from loginguard.users.http import actor_of
from loginguard.users.models import User

View = Callable[..., HttpResponse]
ADOPTION_SHORT = {"passkey": "Passkey", "app": "App only", "none": "Email only"}


def page(view: View) -> View:
    wrapped = login_required(never_cache(require_safe(view)))
    wrapped.__name__ = view.__name__
    return wrapped


def period(request: HttpRequest) -> int:
    value = request.GET.get("days")
    return int(value) if value in ("30", "90") else PERIODS[0]


def across_accounts(request: HttpRequest) -> list[ClientAccount]:
    """A reseller user's active connected accounts; 404 for anybody else."""
    actor = actor_of(request)
    access_reseller(actor)
    return list(visible_accounts(actor).select_related("reseller").order_by("name"))


def one_account(request: HttpRequest, account_id: str) -> ClientAccount:
    return access_administered_account(actor_of(request), account_id)


# --- pages -------------------------------------------------------------------------------

@page
def overview_home(request: HttpRequest) -> HttpResponse:
    """Client admins go to their account's overview; reseller users see all of theirs."""
    actor = actor_of(request)
    if actor.account_id is not None:
        account = one_account(request, str(actor.account_id))
        return redirect("account_overview", account_id=account.pk)
    accounts = across_accounts(request)
    days = period(request)
    ids = [account.pk for account in accounts]
    return render(request, "overview/across.html", {
        "accounts": accounts, "figures": account_figures(accounts, days), "days": days,
        "periods": PERIODS, **series_context(ids, accounts, days)})


@page
def account_overview(request: HttpRequest, account_id: str) -> HttpResponse:
    account = one_account(request, account_id)
    days = period(request)
    ids = [account.pk]
    users_level, admins_level = account_levels(account)
    users = with_kinds(account_users(ids)).order_by("username_key")
    lists = {key: user_list(users, key) for key in ("inactive", "locked", "deactivated")}
    return render(request, "overview/account.html", {
        "account": account, "days": days, "periods": PERIODS,
        "users_level": users_level, "admins_level": admins_level,
        "users_level_label": LABELS[users_level], "admins_level_label": LABELS[admins_level],
        "counts": list_counts(ids),
        "lists": {key: (USER_LISTS[key], rows[:LIST_LIMIT]) for key, rows in lists.items()},
        "ips": failing_ips(ids, days), "list_limit": LIST_LIMIT,
        **series_context(ids, [account], days)})


def described(what: str, days: int, totals: dict[str, int], labels: dict[Any, str]) -> str:
    """A chart's text alternative: what it shows and its totals (the table has each day)."""
    parts = ", ".join(f"{totals[str(key)]} {label.lower()}" for key, label in labels.items())
    return (f"{what} over the last {days} days: {sum(totals.values())} in all ({parts}). "
            "The table below the chart has each day.")


def series_context(ids: Sequence[int], accounts: Sequence[ClientAccount],
                   days: int) -> dict[str, Any]:
    _, shown = window(days)
    sign_ins = sign_ins_by_day(ids, days)
    trouble = trouble_by_day(ids, days)
    share = adoption(accounts)
    sign_in_totals = {key: sum(values) for key, values in sign_ins.items()}
    trouble_sums = {key: sum(values) for key, values in trouble.items()}
    return {
        "days_text": str(days),
        "signins_alt": described("Sign-ins per day", days, sign_in_totals, SIGNIN_SERIES),
        "trouble_alt": described("Failed passwords, code lock-outs and untrusted-device "
                                 "sign-ins per day", days, trouble_sums, TROUBLE_SERIES),
        "factors_alt": (f"Active users by their strongest sign-in factor: {share.passkey} "
                        f"with a passkey, {share.app} with an authenticator app and no "
                        f"passkey, {share.none} with email only."),
        "sign_ins": table_rows(sign_ins, SIGNIN_SERIES, shown),
        "sign_in_labels": list(SIGNIN_SERIES.values()),
        "sign_in_totals": sign_in_totals,
        "trouble": table_rows(trouble, TROUBLE_SERIES, shown),
        "trouble_labels": list(TROUBLE_SERIES.values()),
        "trouble_totals": {key.replace(".", "_"): sum(values)
                           for key, values in trouble.items()},
        "adoption": share, "adoption_labels": ADOPTION_SERIES,
    }


# --- charts ------------------------------------------------------------------------------

def chart_response(svg: bytes) -> HttpResponse:
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Content-Security-Policy"] = charts.CSP
    response["X-Content-Type-Options"] = "nosniff"
    return response


def draw(name: str, ids: Sequence[int], accounts: Sequence[ClientAccount],
         request: HttpRequest) -> bytes:
    days = period(request)
    size = charts.NARROW if request.GET.get("size") == "narrow" else charts.WIDE
    _, shown = window(days)
    if name == "sign-ins":
        return charts.by_day(f"Sign-ins per day, last {days} days",
                             sign_ins_by_day(ids, days), SIGNIN_SERIES, shown,
                             charts.SIGN_IN_COLORS, size)
    if name == "trouble":
        title = ("Failures and lock-outs" if size == charts.NARROW else
                 "Failed passwords, lock-outs and untrusted sign-ins")
        return charts.by_day(f"{title}, last {days} days", trouble_by_day(ids, days),
                             {str(k): v for k, v in TROUBLE_SERIES.items()}, shown,
                             charts.TROUBLE_COLORS, size)
    if name == "factors":
        share = adoption(accounts)
        return charts.shares("Active users by strongest factor",
                             {"passkey": share.passkey, "app": share.app, "none": share.none},
                             ADOPTION_SHORT if size == charts.NARROW else ADOPTION_SERIES,
                             size)
    raise Http404


@page
def account_chart(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    account = one_account(request, account_id)
    return chart_response(draw(name, [account.pk], [account], request))


@page
def across_chart(request: HttpRequest, name: str) -> HttpResponse:
    accounts = across_accounts(request)
    return chart_response(draw(name, [a.pk for a in accounts], accounts, request))


# --- CSV ---------------------------------------------------------------------------------

def safe_cell(value: object) -> object:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(filename: str, header: Sequence[str],
                 rows: Iterable[Sequence[object]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return response


def by_day_rows(values: dict[str, list[int]], labels: dict[Any, str],
                shown: list[date]) -> list[list[object]]:
    return [[day.isoformat(), *counts] for day, counts in table_rows(values, labels, shown)]


USER_HEADER = ("username", "email", "role", "active", "last sign-in (UTC)")


def user_rows(users: Iterable[User]) -> Iterable[list[object]]:
    for user in users:
        yield [user.username, user.email,
               "client_admin" if user.is_client_admin else "client_user",
               "yes" if user.is_active else "no",
               user.last_login.isoformat() if user.last_login else "never"]


@page
def account_csv(request: HttpRequest, account_id: str, table: str) -> HttpResponse:
    account = one_account(request, account_id)
    days = period(request)
    ids = [account.pk]
    _, shown = window(days)
    slug = f"{account.pk}-{table}-{days}d.csv"
    if table == "sign-ins":
        return csv_response(slug, ("day", *SIGNIN_SERIES.values()),
                            by_day_rows(sign_ins_by_day(ids, days), SIGNIN_SERIES, shown))
    if table == "trouble":
        return csv_response(slug, ("day", *TROUBLE_SERIES.values()),
                            by_day_rows(trouble_by_day(ids, days), TROUBLE_SERIES, shown))
    if table == "ips":
        return csv_response(slug, ("ip", "failed attempts"), failing_ips(ids, days, None))
    if table in USER_LISTS:
        users = user_list(with_kinds(account_users(ids)).order_by("username_key"), table)
        return csv_response(f"{account.pk}-users-{table}.csv", USER_HEADER,
                            user_rows(users.iterator()))
    raise Http404


@page
def across_csv(request: HttpRequest, table: str) -> HttpResponse:
    accounts = across_accounts(request)
    days = period(request)
    ids = [account.pk for account in accounts]
    _, shown = window(days)
    if table == "sign-ins":
        return csv_response(f"accounts-sign-ins-{days}d.csv", ("day", *SIGNIN_SERIES.values()),
                            by_day_rows(sign_ins_by_day(ids, days), SIGNIN_SERIES, shown))
    if table == "trouble":
        return csv_response(f"accounts-trouble-{days}d.csv", ("day", *TROUBLE_SERIES.values()),
                            by_day_rows(trouble_by_day(ids, days), TROUBLE_SERIES, shown))
    if table != "accounts":
        raise Http404
    return csv_response(f"accounts-{days}d.csv", (
        "account", "users", "sign-ins", "failed passwords", "code lock-outs",
        "untrusted sign-ins", "email only", "short of the policy",
        "not signed in for 90 days"), (
        [f.account.name, f.users, f.sign_ins, f.failed_passwords, f.lockouts, f.untrusted,
         f.email_only, f.not_ready, f.inactive] for f in account_figures(accounts, days)))

