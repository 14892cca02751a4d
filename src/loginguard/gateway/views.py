"""The reseller gateway (SPEC §5) and account administration for client admins and
connected reseller users. Thin edges: guards from the access layer, then one action."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from loginguard.access.guards import (
    access_account_user,
    access_administered_account,
    access_gateway_account,
    access_reseller,
    access_reseller_user,
)
from loginguard.access.logs import account_security_log
from loginguard.access.rules import reseller_accounts
from loginguard.actions.clients import client_create, client_delete
from loginguard.actions.credentials import factors_reset, password_reset_send
from loginguard.actions.tenants import (
    account_create_with_admin,
    account_rename,
    account_set_active,
    account_set_factor_policy,
    account_set_ip_policy,
    connection_create,
    connection_delete,
    reseller_set_factor_policy,
    reseller_set_ip_policy,
)
from loginguard.actions.users import user_create
from loginguard.audit.events import EventType
from loginguard.devices.request_info import RequestInfo
from loginguard.factors.registry import with_kinds
from loginguard.lib.ids import parse_id
from loginguard.lib.pages import confirm_page, post_or_redirect
from loginguard.overview.queries import PERIODS, USER_LISTS, user_list, window
from loginguard.sso.models import Client
from loginguard.sso.selectors import account_client
from loginguard.tenancy.models import ClientAccount, Connection, FactorLevel, IpMatch
from loginguard.users.http import actor_of
from loginguard.users.models import User, UserKind

LOG_PAGE_SIZE = 25
View = Callable[..., HttpResponse]


def page(view: View) -> View:
    wrapped = login_required(never_cache(csrf_protect(view)))
    wrapped.__name__ = view.__name__
    return wrapped


def reseller_actor(request: HttpRequest) -> User:
    """The signed-in reseller user; 404 for anybody else (the gateway does not exist for
    client users)."""
    actor = actor_of(request)
    access_reseller(actor)
    return actor


def administered_account(request: HttpRequest, account_id: object) -> ClientAccount:
    return access_administered_account(actor_of(request), account_id)


# --- gateway ---------------------------------------------------------------------------

@page
@require_http_methods(["GET", "HEAD", "POST"])
def gateway_home(request: HttpRequest) -> HttpResponse:
    actor = reseller_actor(request)
    errors: list[str] = []
    if request.method == "POST":
        try:
            account = account_create_with_admin(
                actor=actor, name=request.POST.get("name", ""),
                admin_username=request.POST.get("admin_username", ""),
                admin_email=request.POST.get("admin_email", ""))
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, f"Created {account.name}. Its first admin was invited "
                                      "by email; you are connected to it.")
            return redirect("gateway")
    return render_home(request, actor, status=400 if errors else 200, errors=errors,
                       posted=request.POST)


def render_home(request: HttpRequest, actor: User, *, status: int = 200,
                **extra: Any) -> HttpResponse:
    connected = set(Connection.objects.filter(user=actor).values_list("account_id", flat=True))
    accounts = [(a, a.pk in connected) for a in reseller_accounts(actor)]
    return render(request, "gateway/home.html", {
        "accounts": accounts, "reseller": actor.reseller, "ip_choices": IpMatch.choices,
        "factor_choices": FactorLevel.choices, **extra}, status=status)


@page
@post_or_redirect(lambda request, **kw: "/gateway/")
def gateway_ip_policy(request: HttpRequest) -> HttpResponse:
    """The IP policy of the reseller's own users (their devices and sessions)."""
    actor = reseller_actor(request)
    assert actor.reseller is not None
    try:
        reseller_set_ip_policy(actor=actor, reseller=actor.reseller,
                               policy=request.POST.get("ip_match", ""),
                               info=RequestInfo.of(request))
    except ValidationError as exc:
        return render_home(request, actor, status=400, policy_errors=exc.messages)
    messages.success(request, f"Trusted-device IP policy of {actor.reseller.name}'s users "
                              "saved. It applies from the next sign-in.")
    return redirect("gateway")


@page
@require_safe
def gateway_account_page(request: HttpRequest, account_id: str) -> HttpResponse:
    actor = reseller_actor(request)
    account = access_gateway_account(actor, account_id)
    connected = User.objects.filter(connections__account=account)
    others = User.objects.filter(reseller_id=access_reseller(actor), kind=UserKind.RESELLER,
                                 is_active=True).exclude(pk__in=connected)
    return render(request, "gateway/account.html", {"account": account,
                                                    "connected": connected, "others": others})


@page
@post_or_redirect(lambda request, account_id, **kw: f"/gateway/accounts/{account_id}/")
def gateway_connect(request: HttpRequest, account_id: str) -> HttpResponse:
    actor = reseller_actor(request)
    account = access_gateway_account(actor, account_id)
    user = access_reseller_user(actor, request.POST.get("user_id"))
    connection_create(user=user, account=account, actor=actor)
    messages.success(request, f"{user.username} is connected to {account.name}.")
    return redirect("gateway_account", account_id=account.pk)


@page
@post_or_redirect(lambda request, account_id, **kw: f"/gateway/accounts/{account_id}/")
def gateway_disconnect(request: HttpRequest, account_id: str, user_id: str) -> HttpResponse:
    actor = reseller_actor(request)
    account = access_gateway_account(actor, account_id)
    user = access_reseller_user(actor, user_id)
    connection_delete(user=user, account=account, actor=actor)
    messages.success(request, f"{user.username} is no longer connected to {account.name}.")
    return redirect("gateway_account", account_id=account.pk)


@page
@post_or_redirect(lambda request, account_id, **kw: f"/gateway/accounts/{account_id}/")
def gateway_account_rename(request: HttpRequest, account_id: str) -> HttpResponse:
    actor = reseller_actor(request)
    account = access_gateway_account(actor, account_id)
    old = account.name
    try:
        account_rename(account=account, name=request.POST.get("name", ""), actor=actor,
                       info=RequestInfo.of(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if account.name != old:
            messages.success(request, f"Renamed {old} to {account.name}.")
    return redirect("gateway_account", account_id=account.pk)


@page
@require_http_methods(["GET", "HEAD", "POST"])
def gateway_account_suspend(request: HttpRequest, account_id: str) -> HttpResponse:
    """Suspend a client account (a confirmation page first)."""
    actor = reseller_actor(request)
    account = access_gateway_account(actor, account_id)
    if request.method != "POST":
        return confirm_page(
            request, title="Suspend client account", question=f"Suspend {account.name}?",
            consequence="Its users are signed out at once and cannot sign in, and its API "
                        "tokens stop working, until you resume it.",
            label="Suspend", cancel_url=f"/gateway/accounts/{account.pk}/")
    ended = account_set_active(account=account, active=False, actor=actor, via="gateway")
    messages.success(request, f"{account.name} is suspended; {ended} session"
                              f"{'' if ended == 1 else 's'} of its users ended.")
    return redirect("gateway_account", account_id=account.pk)


@page
@post_or_redirect(lambda request, account_id, **kw: f"/gateway/accounts/{account_id}/")
def gateway_account_resume(request: HttpRequest, account_id: str) -> HttpResponse:
    actor = reseller_actor(request)
    account = access_gateway_account(actor, account_id)
    account_set_active(account=account, active=True, actor=actor, via="gateway")
    messages.success(request, f"{account.name} is active again: its users can sign in.")
    return redirect("gateway_account", account_id=account.pk)


# --- account administration ------------------------------------------------------------

def render_admin(request: HttpRequest, account: ClientAccount, *, status: int = 200,
                 **extra: Any) -> HttpResponse:
    users = with_kinds(User.objects.filter(account=account)).order_by("username_key")
    # ?show= narrows the list to what a number of the overview counts (?factors=none, the
    # older spelling of show=none, still works).
    show = request.GET.get("show") or ("none" if request.GET.get("factors") == "none" else "")
    if show not in USER_LISTS:
        show = ""
    users = user_list(users, show)
    clients = Client.objects.filter(account=account).select_related("application")
    return render(request, "gateway/admin.html", {
        "account": account, "users": users, "ip_choices": IpMatch.choices,
        "factor_choices": FactorLevel.choices,
        "show": show, "user_lists": USER_LISTS,
        "clients": clients, **extra}, status=status)


@page
@post_or_redirect(lambda request, account_id, **kw: f"/accounts/{account_id}/")
def account_client_create(request: HttpRequest, account_id: str) -> HttpResponse:
    """A client admin registers an app for their own account (SPEC §11); the secret is
    shown on the page that answers, once."""
    account = administered_account(request, account_id)
    try:
        registered = client_create(
            name=request.POST.get("name", ""), redirect_uris=[request.POST.get("redirect_uri")],
            public=request.POST.get("public") == "on",
            backchannel_logout_uri=request.POST.get("backchannel_logout_uri", ""),
            account=account, actor=actor_of(request))
    except ValidationError as exc:
        return render_admin(request, account, status=400, client_errors=exc.messages,
                            client_posted=request.POST)
    return render_admin(request, account, registered=registered)


@page
@post_or_redirect(lambda request, account_id, **kw: f"/accounts/{account_id}/")
def account_client_delete(request: HttpRequest, account_id: str,
                          client_id: str) -> HttpResponse:
    account = administered_account(request, account_id)
    client = account_client(account, client_id)  # 404 unless it is this account's app
    client_delete(client=client, actor=actor_of(request))
    messages.success(request, f"{client.application.name} can no longer sign anyone in.")
    return redirect("account_admin", account_id=account.pk)


@page
@require_safe
def account_admin(request: HttpRequest, account_id: str) -> HttpResponse:
    return render_admin(request, administered_account(request, account_id))


@page
@post_or_redirect(lambda request, account_id, **kw: f"/accounts/{account_id}/")
def account_invite(request: HttpRequest, account_id: str) -> HttpResponse:
    account = administered_account(request, account_id)
    try:
        user = user_create(username=request.POST.get("username", ""),
                           email=request.POST.get("email", ""), account=account,
                           is_client_admin=request.POST.get("is_client_admin") == "on",
                           invite=True, actor=actor_of(request))
    except ValidationError as exc:
        return render_admin(request, account, status=400, invite_errors=exc.messages,
                            posted=request.POST)
    messages.success(request, f"Invited {user.username}: a link to choose a password (valid "
                              "72 hours) is on its way to them.")
    return redirect("account_admin", account_id=account.pk)


@page
@post_or_redirect(lambda request, account_id, **kw: f"/accounts/{account_id}/")
def account_send_reset(request: HttpRequest, account_id: str, user_id: str) -> HttpResponse:
    account = administered_account(request, account_id)
    target = access_account_user(actor_of(request), account, user_id)
    info = RequestInfo.of(request)
    try:
        password_reset_send(actor=actor_of(request), target=target, info=info)
    except PermissionDenied:
        messages.error(request, "You cannot send a reset link to yourself from here: use "
                                "Forgot password on the sign-in page.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"A reset link is on its way to {target.username}.")
    return redirect("account_admin", account_id=account.pk)


@page
@post_or_redirect(lambda request, account_id, **kw: f"/accounts/{account_id}/")
def account_ip_policy(request: HttpRequest, account_id: str) -> HttpResponse:
    account = administered_account(request, account_id)
    info = RequestInfo.of(request)
    try:
        account_set_ip_policy(actor=actor_of(request), account=account,
                              policy=request.POST.get("ip_match", ""), info=info)
    except ValidationError as exc:
        return render_admin(request, account, status=400, policy_errors=exc.messages)
    messages.success(request, "Trusted-device IP policy saved. It applies from the next "
                              "sign-in.")
    return redirect("account_admin", account_id=account.pk)


@page
@require_safe
def account_log(request: HttpRequest, account_id: str) -> HttpResponse:
    account = administered_account(request, account_id)
    events = account_security_log(actor_of(request), account)
    user_filter = parse_id(request.GET.get("user"))
    type_filter = request.GET.get("type", "")
    ip_filter = ip_or_empty(request.GET.get("ip"))
    since = int(request.GET["since"]) if request.GET.get("since") in ("30", "90") else 0
    if user_filter:
        events = events.filter(subject_id=user_filter)
    if type_filter in EventType.values:
        events = events.filter(event_type=type_filter)
    if ip_filter:
        events = events.filter(ip=ip_filter)
    if since in PERIODS:  # the overview's "last 30/90 days", from the day's start
        events = events.filter(created_at__gte=window(since)[0])
    log = Paginator(events, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = urlencode({key: value for key, value in (
        ("user", user_filter or ""), ("type", type_filter if type_filter in EventType.values
                                      else ""), ("ip", ip_filter), ("since", since or ""))
        if value})
    return render(request, "gateway/log.html", {
        "account": account, "log": log, "users": User.objects.filter(account=account),
        "event_types": EventType.choices, "user_filter": user_filter,
        "type_filter": type_filter if type_filter in EventType.values else "",
        "ip_filter": ip_filter, "since": since, "filters": filters})


def ip_or_empty(value: object) -> str:
    """An IP address as the log stores it, or "" for anything else."""
    try:
        return str(ipaddress.ip_address(value)) if isinstance(value, str) else ""
    except ValueError:
        return ""


@page
@post_or_redirect(lambda request, account_id, **kw: f"/accounts/{account_id}/")
def account_factor_policy(request: HttpRequest, account_id: str) -> HttpResponse:
    account = administered_account(request, account_id)
    try:
        account_set_factor_policy(actor=actor_of(request), account=account,
                                  level=request.POST.get("factor_policy", ""),
                                  admin_level=request.POST.get("admin_factor_policy", ""),
                                  info=RequestInfo.of(request))
    except ValidationError as exc:
        return render_admin(request, account, status=400, factor_policy_errors=exc.messages)
    messages.success(request, "Factor policy saved. Everyone affected was told by email; "
                              "it applies from their next sign-in.")
    return redirect("account_admin", account_id=account.pk)


@page
@require_http_methods(["GET", "HEAD", "POST"])
def account_reset_factors(request: HttpRequest, account_id: str, user_id: str) -> HttpResponse:
    """"Reset sign-in factors" for a user who lost them all (a confirmation first)."""
    account = administered_account(request, account_id)
    target = access_account_user(actor_of(request), account, user_id)
    if request.method != "POST":
        return confirm_page(
            request, title="Reset sign-in factors",
            question=f"Reset the sign-in factors of {target.username} ({target.email})?",
            consequence="Their passkeys, authenticator apps and recovery codes are removed, "
                        "they are signed out everywhere, and they are told by email. Until "
                        "they add new ones, their password and an emailed code sign them "
                        "in. Do this only when you know it is them asking.",
            label="Reset factors", cancel_url=f"/accounts/{account.pk}/")
    try:
        factors_reset(actor=actor_of(request), target=target, info=RequestInfo.of(request))
    except PermissionDenied:
        messages.error(request, "You cannot reset your own sign-in factors: another "
                                "administrator has to.")
    else:
        messages.success(request, f"The sign-in factors of {target.username} are reset; "
                                  "they were told by email.")
    return redirect("account_admin", account_id=account.pk)


@page
@post_or_redirect(lambda request, **kw: "/gateway/")
def gateway_factor_policy(request: HttpRequest) -> HttpResponse:
    """The factor level of the reseller's own users and its accounts' default."""
    actor = reseller_actor(request)
    assert actor.reseller is not None
    try:
        reseller_set_factor_policy(
            actor=actor, reseller=actor.reseller,
            level=request.POST.get("factor_policy", ""),
            accounts_level=request.POST.get("accounts_factor_policy", ""),
            info=RequestInfo.of(request))
    except ValidationError as exc:
        return render_home(request, actor, status=400, factor_policy_errors=exc.messages)
    messages.success(request, "Factor policy saved. Everyone affected was told by email.")
    return redirect("gateway")
