"""Security-section actions: each a CSRF-protected POST that re-checks the unlock and
touches only the signed-in user's own objects (SPEC §4). Every one redirects back to the
record (post/redirect/get): errors and a new token travel in the session for that one
view. A GET of an action's URL shows the confirmation page for the ones that destroy
something, and the record for the rest: never a bare 405."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.utils.timezone import localtime
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from loginguard.actions.alerts import alert_answer
from loginguard.actions.credentials import password_change as change_password
from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.services import api_token_create, api_token_revoke
from loginguard.audit.models import AlertAnswer
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import RequestInfo
from loginguard.devices.services import (
    trusted_device_rename,
    trusted_device_revoke,
    trusted_devices_revoke_all,
)
from loginguard.lib.ids import parse_id
from loginguard.lib.pages import confirm_page, post_or_redirect
from loginguard.lib.stash import stash
from loginguard.security.unlock import is_unlocked, security_lock, security_unlock
from loginguard.signin.models import UserSession
from loginguard.signin.sessions import user_session_end, user_sessions_end_others
from loginguard.sso import services as sso
from loginguard.sso.selectors import ConnectedApp, connected_apps
from loginguard.users.http import AuthenticatedHttpRequest

View = Callable[..., HttpResponse]
Application = sso.Application


def _back(request: AuthenticatedHttpRequest, anchor: str = "security") -> HttpResponse:
    return redirect(f"/users/{request.user.pk}/#{anchor}")


Question = Callable[..., tuple[str, str]]


def _section_action(view: View, confirm: tuple[str, str, Question] | None) -> View:
    """POST does it, once the section is unlocked; a GET (or HEAD) goes back to the
    section, or, for an action that destroys something (``confirm``: title, button label,
    and the question with its consequence), shows "are you sure?" first."""
    @login_required
    @never_cache
    @csrf_protect
    @require_http_methods(["GET", "HEAD", "POST"])
    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_unlocked(request):
            return render(request, "security/locked.html", status=403)
        if request.method == "POST":
            return view(request, *args, **kwargs)
        if confirm is None:
            return _back(request)
        title, label, question = confirm
        asked, consequence = question(request, *args, **kwargs)
        return confirm_page(request, title=title, question=asked, consequence=consequence,
                            label=label, cancel_url=f"/users/{request.user.pk}/#security")
    wrapped.__name__ = view.__name__
    return wrapped


def security_action(view: View) -> View:
    return _section_action(view, None)


def confirmed_action(title: str, label: str, question: Question) -> Callable[[View], View]:
    return lambda view: _section_action(view, (title, label, question))


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
@post_or_redirect(lambda request: f"/users/{request.user.pk}/#security")
def unlock(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    error = security_unlock(request, user=user, password=request.POST.get("password"),
                            code=request.POST.get("code"),
                            recovery_code=request.POST.get("recovery_code"))
    if error:
        stash(request, unlock_error=error)
        return _back(request)
    messages.success(request, "Security section unlocked for 10 minutes.")
    return _back(request)


@login_required
@never_cache
@csrf_protect
@post_or_redirect(lambda request: f"/users/{request.user.pk}/#security")
def lock(request: AuthenticatedHttpRequest) -> HttpResponse:
    security_lock(request)
    return _back(request)


@security_action
def device_rename(request: AuthenticatedHttpRequest, device_id: str) -> HttpResponse:
    device = _own(TrustedDevice, request, device_id)
    try:
        trusted_device_rename(user=request.user, device=device,
                                       name=request.POST.get("name"), info=RequestInfo.of(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Device renamed.")
    return _back(request)


def _device_question(request: AuthenticatedHttpRequest, device_id: str) -> tuple[str, str]:
    device = _own(TrustedDevice, request, device_id)
    return (f"Remove “{device.name}” ({device.browser} on {device.os}, {device.ip}) from "
            "your trusted devices?", "Signing in from it will ask for an emailed code "
            "again. Sessions open on it stay signed in.")


@confirmed_action("Remove trusted device", "Remove device", _device_question)
def device_remove(request: AuthenticatedHttpRequest, device_id: str) -> HttpResponse:
    device = _own(TrustedDevice, request, device_id)
    trusted_device_revoke(user=request.user, device=device,
                                   info=RequestInfo.of(request))
    messages.success(request, f"“{device.name}” is no longer trusted.")
    return _back(request)


def _all_devices_question(request: AuthenticatedHttpRequest) -> tuple[str, str]:
    count = TrustedDevice.objects.filter(user=request.user).count()
    return (f"Remove all {count} trusted device{pluralize(count)}?",
            "Every device, this one included, will ask for an emailed code at its next "
            "sign-in.")


@confirmed_action("Remove all trusted devices", "Remove all", _all_devices_question)
def devices_remove_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = trusted_devices_revoke_all(user=request.user,
                                       reason="removed_by_user")
    messages.success(request, f"Removed {count} trusted device{pluralize(count)}. Every "
                              "device asks for a code again.")
    return _back(request)


def _session_question(request: AuthenticatedHttpRequest, session_id: str) -> tuple[str, str]:
    target = _own(UserSession, request, session_id)
    started = localtime(target.created_at).strftime("%Y-%m-%d %H:%M")
    seen = localtime(target.last_seen_at).strftime("%Y-%m-%d %H:%M")
    where = f"{target.browser_label}, {target.ip}" if target.named else target.ip
    return (f"Sign out “{target.label}” ({where})?",
            f"Signed in {started}, last active {seen} (UTC). That browser goes back to the "
            "sign-in page at its next click.")


@confirmed_action("Sign out a session", "Sign it out", _session_question)
def session_end(request: AuthenticatedHttpRequest, session_id: str) -> HttpResponse:
    target = _own(UserSession, request, session_id)
    if target.session_key == request.session.session_key:
        messages.error(request, "That is this session: use Log out instead.")
        return _back(request)
    user_session_end(user=request.user, target=target,
                              info=RequestInfo.of(request))
    messages.success(request, f"Signed out “{target.label}”.")
    return _back(request)


def _others_question(request: AuthenticatedHttpRequest) -> tuple[str, str]:
    count = UserSession.objects.filter(user=request.user).exclude(
        session_key=request.session.session_key).count()
    return (f"Sign out your {count} other session{pluralize(count)}?",
            "Every other browser signed in as you goes back to the sign-in page; this one "
            "stays signed in.")


@confirmed_action("Sign out other sessions", "Sign them out", _others_question)
def sessions_end_others(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = user_sessions_end_others(
        user=request.user, current_key=request.session.session_key,
        info=RequestInfo.of(request))
    messages.success(request, f"Signed out {count} other session{pluralize(count)}.")
    return _back(request)


@security_action
def password_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    errors = change_password(
        request, user=user, current=request.POST.get("current_password"),
        new=request.POST.get("new_password1"), repeat=request.POST.get("new_password2"),
        revoke_tokens=request.POST.get("revoke_tokens") == "on")
    if errors:
        stash(request, password_errors=errors)
        return _back(request, "change-password")
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
        stash(request, token_errors=exc.messages)
        return _back(request, "api-tokens")
    # The one time the token is shown: it waits in the session for the next view of the
    # record only (a reload after that shows it no more; the database keeps its hash).
    stash(request, new_token=token, new_token_name=row.name)
    return _back(request, "new-token")


def _token_question(request: AuthenticatedHttpRequest, token_id: str) -> tuple[str, str]:
    token = _own(ApiToken, request, token_id)
    return (f"Revoke the API token “{token.name}” ({token.display_prefix}…)?",
            "Scripts using it get 401 at once. This cannot be undone: create a new token "
            "if you need one.")


@confirmed_action("Revoke API token", "Revoke token", _token_question)
def token_revoke(request: AuthenticatedHttpRequest, token_id: str) -> HttpResponse:
    token = _own(ApiToken, request, token_id)
    info = RequestInfo.of(request)
    api_token_revoke(user=request.user, token=token, actor=request.user, info=info)
    messages.success(request, f"Token “{token.name}” revoked.")
    return _back(request)


def _app_question(request: AuthenticatedHttpRequest, app_id: str) -> tuple[str, str]:
    app = _connected(request, app_id)
    return (f"Disconnect {app.name}?",
            f"{app.name} loses its access at once and signs you out there; the next time "
            "you open it, you sign in again.")


def _connected(request: AuthenticatedHttpRequest, app_id: str) -> ConnectedApp:
    # Only apps holding the signed-in user's own tokens; any other id is a 404.
    pk = parse_id(app_id)
    app = next((a for a in connected_apps(request.user) if a.application_id == pk), None)
    if app is None:
        raise Http404
    return app


@confirmed_action("Disconnect an app", "Disconnect", _app_question)
def app_disconnect(request: AuthenticatedHttpRequest, app_id: str) -> HttpResponse:
    app = _connected(request, app_id)
    sso.app_disconnect(user=request.user, application=Application.objects.get(
        pk=app.application_id), actor=request.user)
    messages.success(request, f"Disconnected {app.name}.")
    return _back(request, "connected-apps")


@security_action
def alert_answer_view(request: AuthenticatedHttpRequest, alert_id: str) -> HttpResponse:
    """"This was me" / "This wasn't me" on an alert of the user's home (issue 29). An
    action like the others: it needs the unlock (someone else holding this session must
    not quietly close the alert of their own sign-in)."""
    answers = request.POST.getlist("answer")  # exactly one: a repeated field is no answer
    answered = alert_answer(user=request.user, event_id=parse_id(alert_id) or 0,
                            answer=answers[0] if len(answers) == 1 else "",
                            info=RequestInfo.of(request))
    if answered is None:
        messages.error(request, "Nothing was changed: that alert was answered already, or "
                                "it is not one of yours from the last 30 days.")
        return redirect("home")
    if answered.answer == AlertAnswer.ME:
        messages.success(request, "Thanks. The alert is closed.")
        return redirect("home")
    messages.warning(request, "Change your password now, below. That signs out every other "
                              "session and forgets every other trusted device; tick \"Also "
                              "revoke all my API tokens\" if you have any. Then check your "
                              "sign-in factors.")
    return redirect(f"/users/{request.user.pk}/#change-password")
