"""Security-section actions: each a CSRF-protected POST that re-checks the unlock and
touches only the signed-in user's own objects (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.services import api_token_create, api_token_revoke
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import RequestInfo
from loginguard.lib.ids import parse_id
from loginguard.record.views import render_record
from loginguard.security import services
from loginguard.security.unlock import is_unlocked, security_lock, security_unlock
from loginguard.signin.models import UserSession
from loginguard.users.http import AuthenticatedHttpRequest

View = Callable[..., HttpResponse]


def _back(request: AuthenticatedHttpRequest) -> HttpResponse:
    return redirect(f"/users/{request.user.pk}/#security")


def security_action(view: View) -> View:
    @login_required
    @never_cache
    @csrf_protect
    @require_POST
    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_unlocked(request):
            return render(request, "security/locked.html", status=403)
        return view(request, *args, **kwargs)
    wrapped.__name__ = view.__name__
    return wrapped


def _own(model: type[Any], request: AuthenticatedHttpRequest, object_id: str) -> Any:
    # Only the signed-in user's own rows; another user's id is a 404 like a missing one.
    obj = model.objects.filter(pk=parse_id(object_id), user=request.user).first() \
        if parse_id(object_id) else None
    if obj is None:
        raise Http404
    return obj


@login_required
@never_cache
@csrf_protect
@require_POST
def unlock(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    error = security_unlock(request, user=user, password=request.POST.get("password"))
    if error:
        return render_record(request, user, "details", status=400, unlock_error=error)
    messages.success(request, "Security section unlocked for 10 minutes.")
    return _back(request)


@login_required
@never_cache
@csrf_protect
@require_POST
def lock(request: AuthenticatedHttpRequest) -> HttpResponse:
    security_lock(request)
    return _back(request)


@security_action
def device_rename(request: AuthenticatedHttpRequest, device_id: str) -> HttpResponse:
    device = _own(TrustedDevice, request, device_id)
    try:
        services.trusted_device_rename(user=request.user, device=device,
                                       name=request.POST.get("name"), info=RequestInfo.of(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Device renamed.")
    return _back(request)


@security_action
def device_remove(request: AuthenticatedHttpRequest, device_id: str) -> HttpResponse:
    device = _own(TrustedDevice, request, device_id)
    services.trusted_device_revoke(user=request.user, device=device,
                                   info=RequestInfo.of(request))
    messages.success(request, f"“{device.name}” is no longer trusted.")
    return _back(request)


@security_action
def devices_remove_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    from loginguard.devices.services import trusted_devices_revoke_all

    count = trusted_devices_revoke_all(user=request.user,
                                       reason="removed_by_user")
    messages.success(request, f"Removed {count} trusted device(s). Every device asks for a "
                              "code again.")
    return _back(request)


@security_action
def session_end(request: AuthenticatedHttpRequest, session_id: str) -> HttpResponse:
    target = _own(UserSession, request, session_id)
    if target.session_key == request.session.session_key:
        messages.error(request, "That is this session: use Log out instead.")
        return _back(request)
    services.user_session_end(user=request.user, target=target,
                              info=RequestInfo.of(request))
    messages.success(request, "That session was signed out.")
    return _back(request)


@security_action
def sessions_end_others(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = services.user_sessions_end_others(
        user=request.user, current_key=request.session.session_key,
        info=RequestInfo.of(request))
    messages.success(request, f"Signed out {count} other session(s).")
    return _back(request)


@security_action
def password_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    errors = services.password_change(
        request, user=user, current=request.POST.get("current_password"),
        new=request.POST.get("new_password1"), repeat=request.POST.get("new_password2"),
        revoke_tokens=request.POST.get("revoke_tokens") == "on")
    if errors:
        return render_record(request, user, "details", status=400, password_errors=errors)
    messages.success(request, "Password changed. Your other sessions were signed out.")
    return _back(request)


@security_action
def token_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    info = RequestInfo.of(request)
    days_text = request.POST.get("expires_in_days", "90")
    days = int(days_text) if days_text.isascii() and days_text.isdigit() and \
        len(days_text) < 4 else -1
    try:
        row, token = api_token_create(user=user, name=request.POST.get("name") or "",
                                      days=days, info=info)
    except ValidationError as exc:
        return render_record(request, user, "details", status=400,
                             token_errors=exc.messages)
    # Rendered in this response only (never stored, never redirected through): the one
    # time the token is shown.
    return render_record(request, user, "details", new_token=token, new_token_row=row)


@security_action
def token_revoke(request: AuthenticatedHttpRequest, token_id: str) -> HttpResponse:
    token = _own(ApiToken, request, token_id)
    info = RequestInfo.of(request)
    api_token_revoke(user=request.user, token=token, actor=request.user, info=info)
    messages.success(request, f"Token “{token.name}” revoked.")
    return _back(request)
