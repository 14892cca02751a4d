"""The user record: Edit User opens it; tabs User Details, Permissions, Notifications;
the Security section at the bottom (SPEC §3, §4). Plain pages with a tab bar, so it works
without JavaScript; every tab re-checks permissions on the server."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from loginguard.access import rules
from loginguard.access.guards import access_user_by_id
from loginguard.actions import users as user_actions
from loginguard.devices.request_info import RequestInfo
from loginguard.lib.pages import confirm_page, post_or_redirect
from loginguard.lib.stash import stash, take
from loginguard.security.context import security_context
from loginguard.security.unlock import is_unlocked
from loginguard.users.http import AuthenticatedHttpRequest, actor_of
from loginguard.users.models import EmailChange, User

DETAIL_FIELDS = {"first_name", "last_name", "phone", "time_zone", "email"}
PERMISSION_FIELDS = {"is_client_admin", "is_active"}
ALWAYS_ALLOWED = {"csrfmiddlewaretoken"}


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def refuse_unknown_fields(request: HttpRequest, allowed: set[str]) -> None:
    """A crafted POST that adds fields this form does not have (role, account, kind…)
    is refused as a whole, so it changes nothing."""
    extra = set(request.POST) - allowed - ALWAYS_ALLOWED
    if extra or any(len(request.POST.getlist(k)) > 1 for k in request.POST):
        what = ", ".join(sorted(extra)) or "repeated fields"
        raise PermissionDenied(f"This form does not accept: {what}.")


def render_record(request: AuthenticatedHttpRequest, target: User, tab: str, *, status: int = 200,
                  **extra: Any) -> HttpResponse:
    actor = request.user
    if request.method in ("GET", "HEAD"):  # what the last POST left (post/redirect/get)
        extra = {**take(request), **extra}
    context = {
        "target": target, "tab": tab, "own": actor.pk == target.pk,
        "can_edit_details": rules.can_edit_details(actor, target),
        "can_edit_permissions": rules.can_edit_permissions(actor, target),
        "can_edit_notifications": rules.can_edit_notifications(actor, target),
        "pending_change": EmailChange.objects.filter(user=target).first(),
        "email_unlocked": actor.pk == target.pk and is_unlocked(request),
        # The way back for an admin who came from Manage users (the breadcrumb).
        "managed_account": target.account if actor.pk != target.pk and target.account
        is not None and rules.can_administer(actor, target.account) else None,
        "time_zones": time_zones(),
        **security_context(request, target),
        **extra,
    }
    return render(request, "users/record.html", context, status=status)


Handler = Callable[[AuthenticatedHttpRequest, User], HttpResponse]


def record_page(handler: Handler) -> Callable[..., HttpResponse]:
    @login_required
    @never_cache
    @csrf_protect
    @require_http_methods(["GET", "HEAD", "POST"])
    def view(request: AuthenticatedHttpRequest, user_id: str) -> HttpResponse:
        target = access_user_by_id(actor_of(request), user_id)  # 404 for other tenants
        return handler(request, target)
    view.__name__ = handler.__name__
    return view


@record_page
def details_tab(request: AuthenticatedHttpRequest, target: User) -> HttpResponse:
    if request.method != "POST":
        return render_record(request, target, "details")
    actor = request.user
    if not rules.can_edit_details(actor, target):
        raise PermissionDenied
    refuse_unknown_fields(request, DETAIL_FIELDS)
    info = RequestInfo.of(request)
    try:
        user_actions.user_update_details(actor=actor, target=target, data=request.POST.dict(),
                                   info=info)
        new_email = request.POST.get("email", "").strip()
        if new_email and new_email.casefold() != target.email.casefold():
            user_actions.email_change_request(actor=actor, target=target, new_email=new_email,
                                        info=info, unlocked=is_unlocked(request))
            messages.info(request, "We sent a code to the new address. The email changes "
                                   "when that code is entered below." if actor.pk == target.pk
                          else f"{target.username} was asked by email to approve the new "
                               "address. Until they do, nothing changes.")
    except ValidationError as exc:
        stash(request, errors=exc.messages, posted=request.POST.dict())
        return redirect("user_record", user_id=target.pk)
    messages.success(request, "User details saved.")
    return redirect("user_record", user_id=target.pk)


@record_page
def permissions_tab(request: AuthenticatedHttpRequest, target: User) -> HttpResponse:
    if request.method != "POST":
        return render_record(request, target, "permissions")
    actor = request.user
    if not rules.can_edit_permissions(actor, target):
        raise PermissionDenied
    refuse_unknown_fields(request, PERMISSION_FIELDS)
    info = RequestInfo.of(request)
    user_actions.user_set_role(actor=actor, target=target,
                         is_client_admin=request.POST.get("is_client_admin") == "on", info=info)
    user_actions.user_set_active(actor=actor, target=target,
                           active=request.POST.get("is_active") == "on", info=info)
    messages.success(request, "Permissions saved.")
    return redirect("user_permissions", user_id=target.pk)


@record_page
def notifications_tab(request: AuthenticatedHttpRequest, target: User) -> HttpResponse:
    if request.method != "POST":
        return render_record(request, target, "notifications")
    actor = request.user
    if not rules.can_edit_notifications(actor, target):
        raise PermissionDenied
    refuse_unknown_fields(request, set(user_actions.NOTIFICATIONS))
    user_actions.user_set_notifications(
        actor=actor, target=target,
        choices={k: request.POST.get(k) == "on" for k in user_actions.NOTIFICATIONS},
        info=RequestInfo.of(request))
    messages.success(request, "Notification settings saved.")
    return redirect("user_notifications", user_id=target.pk)


def record_action(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A POST action on a user's record; a GET of its URL goes to the record (whose own
    guard answers 404 for another tenant's id)."""
    @login_required
    @never_cache
    @csrf_protect
    @post_or_redirect(lambda request, user_id: f"/users/{user_id}/")
    def wrapped(request: AuthenticatedHttpRequest, user_id: str) -> HttpResponse:
        return view(request, access_user_by_id(actor_of(request), user_id))
    wrapped.__name__ = view.__name__
    return wrapped


def _failed(request: AuthenticatedHttpRequest, target: User, exc: ValidationError,
            tab: str = "user_record") -> HttpResponse:
    stash(request, errors=exc.messages)
    return redirect(tab, user_id=target.pk)


@record_action
def email_confirm(request: AuthenticatedHttpRequest, target: User) -> HttpResponse:
    actor = request.user
    try:
        user_actions.email_change_confirm(actor=actor, target=target,
                                    code=request.POST.get("code"), info=RequestInfo.of(request),
                                    unlocked=is_unlocked(request))
    except ValidationError as exc:
        return _failed(request, target, exc)
    messages.success(request, "The new email address is confirmed and in use.")
    return redirect("user_record", user_id=target.pk)


@record_action
def email_approve(request: AuthenticatedHttpRequest, target: User) -> HttpResponse:
    try:
        address = user_actions.email_change_approve(actor=actor_of(request), target=target,
                                              info=RequestInfo.of(request),
                                              unlocked=is_unlocked(request))
    except ValidationError as exc:
        return _failed(request, target, exc)
    messages.info(request, f"We sent a code to {address}. The email changes when that code "
                           "is entered below.")
    return redirect("user_record", user_id=target.pk)


@record_action
def email_cancel(request: AuthenticatedHttpRequest, target: User) -> HttpResponse:
    user_actions.email_change_cancel(actor=request.user, target=target)
    messages.info(request, "The email change was cancelled.")
    return redirect("user_record", user_id=target.pk)


@login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def user_deactivate(request: AuthenticatedHttpRequest, user_id: str) -> HttpResponse:
    """Deactivate, with a confirmation page first (GET)."""
    target = access_user_by_id(actor_of(request), user_id)
    if not rules.can_edit_permissions(request.user, target):
        raise PermissionDenied
    if request.method != "POST":
        return confirm_page(
            request, title="Deactivate user",
            question=f"Deactivate {target.username} ({target.email})?",
            consequence="They are signed out everywhere at once; their trusted devices, API "
                        "tokens and any reset or invitation links stop working, and they "
                        "get an email saying so. You can reactivate them later.",
            label="Deactivate", cancel_url=f"/users/{target.pk}/permissions/")
    user_actions.user_set_active(actor=request.user, target=target, active=False,
                           info=RequestInfo.of(request))
    messages.success(request, f"{target.username} is deactivated and signed out everywhere.")
    return redirect("user_permissions", user_id=target.pk)


@record_action
def user_reactivate(request: AuthenticatedHttpRequest, target: User) -> HttpResponse:
    if not rules.can_edit_permissions(request.user, target):
        raise PermissionDenied
    user_actions.user_set_active(actor=request.user, target=target, active=True,
                           info=RequestInfo.of(request))
    messages.success(request, f"{target.username} is active again and can sign in (with a "
                              "code: their old trusted devices stay removed).")
    return redirect("user_permissions", user_id=target.pk)
