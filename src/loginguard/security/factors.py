"""The Security section's sign-in factors (SPEC §14): passkeys and security keys, an
authenticator app, recovery codes, each added, named and removed by the user alone, in
the unlocked section; and the page a user whose account asks for more than the emailed
code is taken to right after signing in, until they have added it (``enroll``). Each
action is a POST with CSRF; the passkey ones answer JSON to static/loginguard/passkeys.js.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from loginguard.devices.request_info import RequestInfo
from loginguard.factors import passkeys, recovery, totp
from loginguard.factors.models import AuthenticatorApp, Passkey
from loginguard.factors.policy import LABELS, missing_level, satisfies
from loginguard.factors.registry import BY_KEY, enrolled
from loginguard.lib import clock
from loginguard.lib.ids import parse_id
from loginguard.lib.pages import confirm_page
from loginguard.lib.stash import stash, take
from loginguard.security.unlock import is_unlocked, security_unlock_passkey
from loginguard.signin.next_url import NEXT_KEY, safe_next
from loginguard.signin.sessions import enrollment_done, enrollment_due
from loginguard.tenancy.policy import factor_level_for
from loginguard.users.http import AuthenticatedHttpRequest, actor_of

View = Callable[..., HttpResponse]
NEW_APP_KEY = "lg_totp_new"  # the secret of an app being added, until its first code
NEW_APP_LIFETIME = timedelta(minutes=15)
LAST_FACTOR = ("Your account asks for {level}: add another before you remove this one (or "
               "ask your administrator).")


def _allowed(request: HttpRequest) -> bool:
    """The unlocked section, or the enrolment a sign-in led to (the user has just proved
    their password and a second step in this session)."""
    return is_unlocked(request) or bool(enrollment_due(request.session))


def factor_action(view: View) -> View:
    @login_required
    @never_cache
    @csrf_protect
    @require_http_methods(["GET", "HEAD", "POST"])
    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _allowed(request):
            return render(request, "security/locked.html", status=403)
        return view(request, *args, **kwargs)
    wrapped.__name__ = view.__name__
    return wrapped


def _back(request: HttpRequest, anchor: str = "factors") -> HttpResponse:
    if enrollment_due(request.session):
        return redirect("factors_enroll")
    return redirect(f"/users/{actor_of(request).pk}/#{anchor}")


def _after_adding(request: HttpRequest) -> str:
    """Where the browser goes once a factor was added: on from the enrolment when the
    account's level is now reached (to where the sign-in was going), else back."""
    user = actor_of(request)
    if enrollment_due(request.session) and not missing_level(user):
        enrollment_done(request)
        messages.success(request, "Thank you: your account is set up. Save recovery codes "
                                  "too, in your Security section.")
        return safe_next(request.session.pop(NEXT_KEY, None)) or "/"
    return "/security/factors/enroll/" if enrollment_due(request.session) \
        else f"/users/{user.pk}/#factors"


# --- passkeys ---------------------------------------------------------------------------

@factor_action
@require_POST
def passkey_options(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        options = passkeys.registration_options(session=request.session, user=request.user)
    except passkeys.Refused as refused:
        return JsonResponse({"ok": False, "error": str(refused)}, status=400)
    return JsonResponse({"ok": True, "publicKey": options})


@factor_action
@require_POST
def passkey_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = passkeys.posted(request.body)
    try:
        passkeys.passkey_add(session=request.session, user=request.user,
                             credential=data.credential, name=data.name,
                             info=RequestInfo.of(request))
    except ValidationError as exc:
        return JsonResponse({"ok": False, "error": " ".join(exc.messages)}, status=400)
    except passkeys.Refused as refused:
        return JsonResponse({"ok": False, "error": str(refused)}, status=400)
    messages.success(request, "Passkey added. You can sign in with it now.")
    return JsonResponse({"ok": True, "redirect": _after_adding(request)})


def _own_passkey(request: AuthenticatedHttpRequest, passkey_id: str) -> Passkey:
    pk = parse_id(passkey_id)
    found = Passkey.objects.filter(pk=pk, user=request.user).first() if pk else None
    if found is None:  # another user's passkey is as missing as one that does not exist
        raise Http404
    return found


@factor_action
@require_POST
def passkey_rename(request: AuthenticatedHttpRequest, passkey_id: str) -> HttpResponse:
    passkey = _own_passkey(request, passkey_id)
    try:
        passkeys.passkey_rename(user=request.user, passkey=passkey,
                                name=request.POST.get("name"), info=RequestInfo.of(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Passkey renamed.")
    return _back(request)


def _last_of_policy(request: AuthenticatedHttpRequest,
                    removing: Passkey | AuthenticatorApp) -> str | None:
    """Why removing this factor is refused: it is the last that meets the account's level
    (recovery codes never count: they are a way back, not a factor)."""
    user = request.user
    level = factor_level_for(user)
    passkeys_left = Passkey.objects.filter(user=user)
    apps_left = AuthenticatorApp.objects.filter(user=user)
    if isinstance(removing, Passkey):
        passkeys_left = passkeys_left.exclude(pk=removing.pk)
    else:
        apps_left = apps_left.exclude(pk=removing.pk)
    left = [BY_KEY[key] for key, kept in (("passkey", passkeys_left), ("app", apps_left))
            if kept.exists()]
    if satisfies(enrolled(user), level) and not satisfies(left, level):
        return LAST_FACTOR.format(level=LABELS[level].lower())
    return None


@factor_action
def passkey_remove(request: AuthenticatedHttpRequest, passkey_id: str) -> HttpResponse:
    passkey = _own_passkey(request, passkey_id)
    if request.method != "POST":
        return confirm_page(
            request, title="Remove passkey", label="Remove passkey",
            cancel_url=f"/users/{request.user.pk}/#factors",
            question=f"Remove the passkey “{passkey.name}”?",
            consequence="It can no longer sign you in. Remove it from the device or password "
                        "manager that holds it as well.")
    refusal = _last_of_policy(request, passkey)
    if refusal:
        messages.error(request, refusal)
        return _back(request)
    passkeys.passkey_remove(user=request.user, passkey=passkey, info=RequestInfo.of(request))
    messages.success(request, f"Passkey “{passkey.name}” removed.")
    return _back(request)


# --- authenticator apps -------------------------------------------------------------------

def _new_app_secret(request: HttpRequest) -> str:
    """The secret of the app being added: kept in the session (never the database) until
    its first code confirms it, for 15 minutes."""
    kept = request.session.get(NEW_APP_KEY)
    if isinstance(kept, dict):
        try:
            fresh = clock.now() - datetime.fromisoformat(str(kept.get("at"))) < NEW_APP_LIFETIME
        except ValueError:
            fresh = False
        secret = kept.get("secret")
        if fresh and isinstance(secret, str):
            return secret
    secret = totp.new_secret()
    request.session[NEW_APP_KEY] = {"secret": secret, "at": clock.now().isoformat()}
    return secret


@factor_action
def app_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Scan the QR code (or type the secret), name the app, type its first code."""
    user = request.user
    secret = _new_app_secret(request)
    errors: list[str] = []
    if request.method == "POST":
        try:
            totp.app_add(user=user, name=request.POST.get("name"), secret=secret,
                         code=request.POST.get("code"), info=RequestInfo.of(request))
        except ValidationError as exc:
            errors = exc.messages
        else:
            request.session.pop(NEW_APP_KEY, None)
            messages.success(request, "Authenticator app added. Its codes sign you in now.")
            return redirect(_after_adding(request))
    uri = totp.provisioning_uri(user, secret)
    return render(request, "security/app_add.html", {
        "qr": totp.qr_svg(uri), "secret": totp.grouped(secret), "errors": errors,
        "name": request.POST.get("name", "Authenticator app"),
        "enrolling": bool(enrollment_due(request.session))},
        status=400 if errors else 200)


def _own_app(request: AuthenticatedHttpRequest, app_id: str) -> AuthenticatorApp:
    pk = parse_id(app_id)
    found = AuthenticatorApp.objects.filter(pk=pk, user=request.user).first() if pk else None
    if found is None:
        raise Http404
    return found


@factor_action
def app_remove(request: AuthenticatedHttpRequest, app_id: str) -> HttpResponse:
    app = _own_app(request, app_id)
    if request.method != "POST":
        return confirm_page(
            request, title="Remove authenticator app", label="Remove app",
            cancel_url=f"/users/{request.user.pk}/#factors",
            question=f"Remove the authenticator app “{app.name}”?",
            consequence="Its codes will no longer sign you in. Delete the loginguard entry "
                        "in the app as well.")
    refusal = _last_of_policy(request, app)
    if refusal:
        messages.error(request, refusal)
        return _back(request)
    totp.app_remove(user=request.user, app=app, info=RequestInfo.of(request))
    messages.success(request, f"Authenticator app “{app.name}” removed.")
    return _back(request)


# --- recovery codes -------------------------------------------------------------------------

@factor_action
def recovery_generate(request: AuthenticatedHttpRequest) -> HttpResponse:
    """New codes (replacing any): asked first when there are codes to replace."""
    user = request.user
    if request.method != "POST":
        if not recovery.remaining(user):
            return _back(request)
        return confirm_page(
            request, title="Create new recovery codes", label="Create new codes",
            cancel_url=f"/users/{user.pk}/#factors",
            question="Create ten new recovery codes?",
            consequence="Your current codes stop working at once. The new ones are shown "
                        "once: have somewhere to save them.")
    codes = recovery.codes_generate(user=user, info=RequestInfo.of(request))
    stash(request, new_recovery_codes=codes,
          new_recovery_codes_text=recovery.as_text(codes, user))
    return _back(request, "recovery-codes")


@factor_action
def recovery_remove(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return confirm_page(
            request, title="Remove recovery codes", label="Remove codes",
            cancel_url=f"/users/{request.user.pk}/#factors",
            question="Remove your unused recovery codes?",
            consequence="If you then lose your passkeys and authenticator app, only an "
                        "administrator can help you back in.")
    recovery.codes_remove(user=request.user, info=RequestInfo.of(request))
    messages.success(request, "Recovery codes removed.")
    return _back(request)


# --- the enrolment a sign-in leads to ---------------------------------------------------------

@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def enroll(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Right after signing in, for a user whose account asks for what they have not got
    (signin.middleware.EnrollmentGate keeps them here): add it, then go on."""
    level = enrollment_due(request.session)
    if not level:
        return redirect("user_record", user_id=request.user.pk)
    if not missing_level(request.user):
        return redirect(_after_adding(request))
    return render(request, "security/enroll.html", {
        "level": level, "level_label": LABELS[level], "passkeys": passkeys.available(),
        "app_accepted": level != "passkey", **take(request)})


# --- unlocking with a passkey -------------------------------------------------------------

@login_required
@never_cache
@csrf_protect
@require_POST
def unlock_passkey_options(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        options = passkeys.authentication_options(session=request.session,
                                                  purpose=passkeys.UNLOCK, user=request.user)
    except passkeys.Refused as refused:
        return JsonResponse({"ok": False, "error": str(refused)}, status=400)
    return JsonResponse({"ok": True, "publicKey": options})


@login_required
@never_cache
@csrf_protect
@require_POST
def unlock_passkey(request: AuthenticatedHttpRequest) -> HttpResponse:
    error = security_unlock_passkey(request, user=request.user,
                                    credential=passkeys.posted(request.body).credential)
    if error:
        return JsonResponse({"ok": False, "error": error}, status=400)
    messages.success(request, "Security section unlocked for 10 minutes.")
    return JsonResponse({"ok": True, "redirect": f"/users/{request.user.pk}/#security"})
