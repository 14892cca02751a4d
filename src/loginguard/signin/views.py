"""Thin edges for the sign-in stages (SPEC §2, §14; field names of §10): the password, the
second step (a code typed for the email or an authenticator app, a recovery code, a
passkey), the trust prompt, and "Sign in with a passkey". The passkey endpoints answer
JSON to the page's script (static/loginguard/passkeys.js); every other page works without
JavaScript."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from loginguard.factors import passkeys
from loginguard.factors.registry import BY_KEY, EMAIL, PASSKEY, RECOVERY, of_entry
from loginguard.lib.pages import confirm_page, post_or_redirect
from loginguard.signin.flow import (
    STAGE_CODE,
    STAGE_TRUST,
    NeedSecondStep,
    NeedTrust,
    Outcome,
    Refused,
    SignedIn,
    SignInFlow,
    store_device_secret,
)
from loginguard.signin.forms import PasswordForm, TrustForm
from loginguard.signin.next_url import login_for, remember_next, safe_next, take_next

CODE_NOT_SENT = "code-not-sent"  # a message tag: the verify page then says no code left


def destination(request: HttpRequest, outcome: Outcome) -> str:
    """The URL an outcome of the sign-in flow sends the browser to."""
    if isinstance(outcome, SignedIn):
        return take_next(request.session) or reverse("home")
    if isinstance(outcome, NeedSecondStep):
        return reverse("login_verify")
    if isinstance(outcome, NeedTrust):
        return reverse("login_trust")
    return reverse("login")


def respond(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    """Where an outcome of the sign-in flow sends the browser, with what it says."""
    response = redirect(destination(request, outcome))
    if isinstance(outcome, SignedIn):
        store_device_secret(response, outcome)
        if outcome.notice:
            messages.success(request, outcome.notice)
    elif isinstance(outcome, NeedSecondStep):
        if outcome.problem:  # no code went out this time: the page must not say it did
            messages.error(request, outcome.problem, extra_tags=CODE_NOT_SENT)
        elif outcome.notice:
            messages.success(request, outcome.notice)
    elif isinstance(outcome, Refused):
        messages.info(request, outcome.reason)  # a restart: back to the password step
    return response


def respond_json(request: HttpRequest, outcome: Outcome) -> JsonResponse:
    """The same outcome for the passkey script: where to go, or what went wrong."""
    if isinstance(outcome, Refused) and not outcome.restart:
        return JsonResponse({"ok": False, "error": outcome.reason}, status=400)
    response = respond(request, outcome)
    answer = JsonResponse({"ok": not isinstance(outcome, Refused),
                           "redirect": response["Location"]})
    for cookie in response.cookies.values():  # the device secret of a "Yes"
        answer.cookies[cookie.key] = cookie
    return answer


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(safe_next(request.GET.get("next")) or "home")
    error = None
    target = safe_next(request.POST.get("next") if request.method == "POST"
                       else request.GET.get("next"))
    if request.method == "POST":
        remember_next(request.session, target)
        outcome = SignInFlow(request).password(username=single(request, "username"),
                                               password=single(request, "password"))
        if not isinstance(outcome, Refused):
            return respond(request, outcome)
        error = outcome.reason
    # Nothing echoed: every failure renders the same bytes.
    username_field, password_field = password_fields()
    return render(request, "signin/login.html",
                  {"username_field": username_field, "password_field": password_field,
                   "error": error, "next": target, "passkeys": passkeys.available(),
                   "next_app": login_for(request.session, target),
                   "next_host": urlsplit(target).netloc if target else None}, status=200)


@never_cache
@csrf_protect
@require_POST
def passwordless_options_view(request: HttpRequest) -> JsonResponse:
    """The options of "Sign in with a passkey" (any discoverable credential)."""
    if not passkeys.available():
        return JsonResponse({"ok": False, "error": "Passkeys are not available here."},
                            status=404)
    remember_next(request.session, safe_next(request.GET.get("next")))
    return JsonResponse({"ok": True, "publicKey": SignInFlow(request).passwordless_options()})


@never_cache
@csrf_protect
@require_POST
def passwordless_view(request: HttpRequest) -> JsonResponse:
    flow = SignInFlow(request)
    answer = passkeys.posted(request.body)
    return respond_json(request, flow.passwordless(credential=answer.credential))


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    flow = SignInFlow(request)
    found = flow.at(STAGE_CODE)
    if not isinstance(found, tuple):
        return respond(request, found)
    pending, user = found
    error = None
    if request.method == "POST":
        outcome = flow.code(submitted=single(request, "code"))
        if not (isinstance(outcome, Refused) and not outcome.restart):
            return respond(request, outcome)
        error = outcome.reason
    not_sent = any(CODE_NOT_SENT in message.tags for message in messages.get_messages(request))
    factor = BY_KEY.get(pending.method, BY_KEY[EMAIL])
    others = [BY_KEY[key] for key in pending.methods if key != pending.method
              and key in BY_KEY and BY_KEY[key].entry != RECOVERY
              and (BY_KEY[key].entry != PASSKEY or passkeys.available())]
    return render(request, "signin/verify.html", {
        "factor": factor, "masked_email": mask_email(user.email), "error": error,
        "code_not_sent": not_sent, "code_sent": pending.code_sent, "others": others,
        "enroll": pending.enroll,
        "recovery": of_entry(pending.methods, RECOVERY),
        # The 30-day rule (SPEC §2.3): a trusted device asks for a code now and then.
        "trusted_but_due": pending.device_id is not None}, status=200)


@never_cache
@csrf_protect
@post_or_redirect(lambda request: "/login/verify/")
def choose_view(request: HttpRequest) -> HttpResponse:
    """"Email me a code instead", "Use your authenticator app", "Use your passkey"."""
    return respond(request, SignInFlow(request).choose(method=single(request, "method")))


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def recovery_view(request: HttpRequest) -> HttpResponse:
    """"Use a recovery code" (field ``recovery_code``)."""
    flow = SignInFlow(request)
    found = flow.at(STAGE_CODE)
    if not isinstance(found, tuple):
        return respond(request, found)
    pending, _ = found
    factor = of_entry(pending.methods, RECOVERY)
    if factor is None:
        return redirect("login_verify")
    error = None
    if request.method == "POST":
        outcome = flow.recovery(submitted=single(request, "recovery_code"))
        if not (isinstance(outcome, Refused) and not outcome.restart):
            return respond(request, outcome)
        error = outcome.reason
    return render(request, "signin/recovery.html", {"error": error, "factor": factor})


@never_cache
@csrf_protect
@require_POST
def second_step_options_view(request: HttpRequest) -> JsonResponse:
    options = SignInFlow(request).passkey_options()
    if not isinstance(options, dict):
        return respond_json(request, options)
    return JsonResponse({"ok": True, "publicKey": options})


@never_cache
@csrf_protect
@require_POST
def second_step_passkey_view(request: HttpRequest) -> JsonResponse:
    answer = passkeys.posted(request.body)
    return respond_json(request, SignInFlow(request).passkey(credential=answer.credential))


@never_cache
@csrf_protect
@post_or_redirect(lambda request: "/login/verify/")  # the URL revisited: the code page
def resend_view(request: HttpRequest) -> HttpResponse:
    return respond(request, SignInFlow(request).resend())


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def trust_view(request: HttpRequest) -> HttpResponse:
    flow = SignInFlow(request)
    found = flow.at(STAGE_TRUST)
    if not isinstance(found, tuple):
        return respond(request, found)
    form = TrustForm(request.POST if request.method == "POST" else None,
                     initial={"trust": "no", "device_name": flow.info.fingerprint.label})
    if request.method == "POST" and form.is_valid():
        return respond(request, flow.trust(choice=form.cleaned_data["trust"],
                                           device_name=form.cleaned_data["device_name"]))
    return render(request, "signin/trust.html", {"form": form}, status=200)


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # logging out changes state: only the form's POST does
        if not request.user.is_authenticated:
            return redirect("login")
        return confirm_page(request, title="Log out", label="Log out", cancel_url="/",
                            question="Log out of loginguard in this browser?")
    if SignInFlow(request).log_out():
        messages.success(request, "You have been logged out.")
    return redirect("login")


@cache
def password_fields() -> tuple[SafeString, SafeString]:
    """The password form's two inputs as HTML, rendered once per process: the form never
    echoes a value, so they are the same bytes on every render."""
    form = PasswordForm()
    return form["username"].as_widget(), form["password"].as_widget()


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
