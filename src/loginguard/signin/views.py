"""Thin edges for the three sign-in stages (SPEC §2, field names of §10)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from loginguard.audit.events import EventType
from loginguard.codes.services import Verdict
from loginguard.devices.cookie import set_secret
from loginguard.devices.request_info import RequestInfo
from loginguard.signin import services
from loginguard.signin.forms import PasswordForm, TrustForm
from loginguard.signin.pending import STAGE_CODE, STAGE_TRUST, PendingLogin
from loginguard.signin.sessions import session_end, session_start
from loginguard.users.models import User

CODE_MESSAGES = {
    Verdict.WRONG: "That code is not right. Check the latest email and type its 6 digits.",
    Verdict.EXPIRED: "That code has expired (codes last 10 minutes). Use “Resend code” "
                     "to get a new one.",
    Verdict.USED_UP: "That code can no longer be used. Use “Resend code” to get a new one.",
    Verdict.LOCKED: "Too many wrong codes. The code step is locked for a while; try again "
                    "later. If this wasn't you, change your password.",
}


STAGE_URLS = {STAGE_CODE: "login_verify", STAGE_TRUST: "login_trust"}


def _pending(request: HttpRequest, stage: str) -> tuple[PendingLogin, User] | HttpResponse:
    """The pending login and its user when the browser is at ``stage``; otherwise where
    it should go. A request for an earlier stage (a double-clicked "Verify" arriving after
    the first click succeeded) is sent on to the current stage, not restarted."""
    pending = PendingLogin.load(request.session)
    if pending is None:
        return _restart(request)
    if pending.stage != stage:
        return redirect(STAGE_URLS.get(pending.stage, "login"))
    user = User.objects.select_related("account", "reseller").filter(
        pk=pending.user_id, is_active=True).first()
    if user is None or not services.pending_valid(user=user, pending=pending,
                                                  info=RequestInfo.of(request)):
        return _restart(request)
    return pending, user


def _restart(request: HttpRequest) -> HttpResponseRedirect:
    PendingLogin.clear(request.session)
    messages.info(request, "Your sign-in took longer than 10 minutes or was interrupted. "
                           "Sign in again.")
    return redirect("login")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = PasswordForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST":
        info = RequestInfo.of(request)
        result = services.password_check(username=single(request, "username"),
                                         password=single(request, "password"), info=info)
        if result.user is not None:
            return _after_password(request, result, info)
        error = result.error
        form = PasswordForm()  # nothing echoed: every failure renders the same bytes
    return render(request, "signin/login.html", {"form": form, "error": error},
                  status=200)


def _after_password(request: HttpRequest, result: services.PasswordResult,
                    info: RequestInfo) -> HttpResponse:
    user = result.user
    assert user is not None
    step = services.after_password(user=user, info=info, candidates=result.devices)
    if step.signed_in_with is not None:
        session_start(request, user=user, info=info, method="trusted_device")
        return redirect("home")
    assert step.pending is not None
    request.session.cycle_key()  # a pre-set session id must not carry into sign-in
    step.pending.save(request.session)
    if step.quota_error:
        messages.error(request, step.quota_error)
    return redirect("login_verify")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    found = _pending(request, STAGE_CODE)
    if isinstance(found, HttpResponse):
        return found
    pending, user = found
    error = None
    if request.method == "POST":
        info = RequestInfo.of(request)
        verdict = services.code_step(user=user, pending=pending,
                                     submitted=single(request, "code"), info=info)
        if verdict is Verdict.OK:
            return _after_code(request, pending, user, info)
        error = CODE_MESSAGES[verdict]
    return render(request, "signin/verify.html", {
        "masked_email": mask_email(user.email), "error": error}, status=200)


def _after_code(request: HttpRequest, pending: PendingLogin, user: User,
                info: RequestInfo) -> HttpResponse:
    device = services.stale_device(user=user, pending=pending)
    if device is not None:
        services.devices.trusted_device_used(device=device, ip=info.ip,
                                             user_agent=info.user_agent, code_verified=True)
        session_start(request, user=user, info=info, method="code+trusted_device")
        return redirect("home")
    pending.stage = STAGE_TRUST
    pending.save(request.session)
    return redirect("login_trust")


@never_cache
@csrf_protect
@require_POST
def resend_view(request: HttpRequest) -> HttpResponse:
    found = _pending(request, STAGE_CODE)
    if isinstance(found, HttpResponse):
        return found
    pending, user = found
    error = services.send_code(user=user, pending=pending, info=RequestInfo.of(request),
                               cooldown=True)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "A new code is on its way. Earlier codes no longer work.")
    return redirect("login_verify")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def trust_view(request: HttpRequest) -> HttpResponse:
    found = _pending(request, STAGE_TRUST)
    if isinstance(found, HttpResponse):
        return found
    pending, user = found
    info = RequestInfo.of(request)
    form = TrustForm(request.POST if request.method == "POST" else None,
                     initial={"trust": "no", "device_name": info.fingerprint.label})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if not services.trust_claim(pending=pending):
                # A concurrent submit of this same form signed in already: leave the
                # session alone (its cookie is the winner's) and go on.
                return redirect("home")
            return _trust_chosen(request, user, info, form.cleaned_data)
    return render(request, "signin/trust.html", {"form": form}, status=200)


def _trust_chosen(request: HttpRequest, user: User, info: RequestInfo,
                  choice: dict[str, str]) -> HttpResponse:
    if choice["trust"] == "no":
        services.trust_declined(user=user, info=info)
        session_start(request, user=user, info=info, method="code")
        return redirect("home")
    secret = services.trust_accepted(user=user, name=choice["device_name"], info=info)
    session_start(request, user=user, info=info, method="code")
    response = redirect("home")
    set_secret(response, secret)
    messages.success(request, f"“{choice['device_name']}” is now a trusted device.")
    return response


@csrf_protect
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    was_signed_in = request.user.is_authenticated
    session_end(request, event=EventType.SESSION_ENDED, info=RequestInfo.of(request))
    if was_signed_in:
        messages.success(request, "You have been logged out.")
    return redirect("login")


def single(request: HttpRequest, field: str) -> str | None:
    """A form value given exactly once; a repeated field is malformed input, never
    "take the last one"."""
    values = request.POST.getlist(field)
    return values[0] if len(values) == 1 else None


def mask_email(email: str) -> str:
    """SPEC §2: the page never shows the address in full. "alice@acme.example" ->
    "a••••@a••••.example"."""
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    host = host or tld
    tld = tld if dot else ""
    def hide(part: str) -> str:
        return (part[:1] + "•" * max(len(part) - 1, 3)) if part else "•••"
    return f"{hide(local)}@{hide(host)}{dot}{tld}"
