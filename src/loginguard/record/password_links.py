from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from loginguard.actions import credentials as passwords
from loginguard.devices.request_info import RequestInfo
from loginguard.factors import passkeys
from loginguard.factors.stepup import factor_code_check, strong_factors
from loginguard.lib.ids import parse_id
from loginguard.lib.tokens import ExpiringTokenGenerator, invitation_tokens, password_reset_tokens
from loginguard.record.forms import ResetRequestForm
from loginguard.users.models import User


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_request(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" and request.GET.get("sent") == "1":
        return render(request, "users/password_reset_sent.html")
    form = ResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        info = RequestInfo.of(request)
        passwords.password_reset_request(email=form.cleaned_data["email"], info=info)
        # The same redirect for every address; a reload of the page it lands on sends
        # nothing again (post/redirect/get).
        return redirect(f"{reverse('password_reset')}?sent=1")
    return render(request, "users/password_reset.html", {"form": form})


def _user_from_link(uidb64: str, token: str, tokens: ExpiringTokenGenerator) -> User | None:
    try:
        pk = parse_id(force_str(urlsafe_base64_decode(uidb64[:32])))
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        return None
    if pk is None:
        return None
    user = User.objects.select_related("account", "reseller").filter(pk=pk, is_active=True).first()
    return user if user is not None and tokens.check_token(user, token) else None


# The second half of a link's URL once its token has moved into the session.
SET_PASSWORD = "set-password"


FACTOR_KEY = "lg_link_factor"  # the reset link whose user gave their factor, in this session


def _set_password_page(request: HttpRequest, uidb64: str, token: str, *,
                       tokens: ExpiringTokenGenerator, url_name: str, template: str,
                       apply: Callable[..., None], done: str,
                       needs_factor: bool = False) -> HttpResponse:
    """Django's pattern for emailed links: opening the link moves its token into the
    session and redirects to a URL without it, so the token appears in no later request,
    Referer header or history entry (and the access log redacts the first one).
    ``needs_factor`` (a reset link): a user with an authenticator app or a passkey gives
    it, or a recovery code, before choosing the password (SPEC §14)."""
    session_key = f"lg_link_{url_name}"
    if token == SET_PASSWORD:
        token = str(request.session.get(session_key, ""))
    elif request.method == "GET":
        if _user_from_link(uidb64, token, tokens) is None:
            return render(request, "users/link_invalid.html", status=400)
        request.session[session_key] = token
        return redirect(url_name, uidb64=uidb64, token=SET_PASSWORD)
    user = _user_from_link(uidb64, token, tokens)
    if user is None:
        return render(request, "users/link_invalid.html", status=400)
    if needs_factor and strong_factors(user) and not _factor_given(request, user, token):
        return _factor_step(request, user, token, uidb64)
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        info = RequestInfo.of(request)
        apply(user=user, password=form.cleaned_data["new_password1"], info=info)
        request.session.pop(session_key, None)
        request.session.pop(FACTOR_KEY, None)
        messages.success(request, done)
        return redirect("login")
    return render(request, template, {"form": form, "target": user})


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    return _set_password_page(
        request, uidb64, token, tokens=password_reset_tokens, url_name="password_reset_confirm",
        template="users/password_reset_confirm.html", apply=passwords.password_reset_complete,
        done="Your new password is set and your other sessions were signed out. Log in with "
             "it.", needs_factor=True)


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_accept(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    return _set_password_page(
        request, uidb64, token, tokens=invitation_tokens, url_name="invitation_accept",
        template="users/invitation_accept.html", apply=passwords.invitation_accept,
        done="Your password is set. Log in with it; we will email you a code.")


def _factor_given(request: HttpRequest, user: User, token: str) -> bool:
    given = request.session.get(FACTOR_KEY)
    return isinstance(given, dict) and given.get("user_id") == user.pk and \
        constant_time_compare(str(given.get("token", "")), token)


def _factor_step(request: HttpRequest, user: User, token: str, uidb64: str) -> HttpResponse:
    """"Confirm it is you": the app's code, a recovery code, or a passkey (its script posts
    to ``reset_passkey``), before the new password."""
    error = None
    if request.method == "POST" and request.POST.get("step") == "factor":
        error, _ = factor_code_check(user=user, code=request.POST.get("code"),
                                     recovery_code=request.POST.get("recovery_code"),
                                     info=RequestInfo.of(request))
        if error is None:
            request.session[FACTOR_KEY] = {"user_id": user.pk, "token": token}
            return redirect("password_reset_confirm", uidb64=uidb64, token=SET_PASSWORD)
    kinds = {factor.key for factor in strong_factors(user)}
    return render(request, "users/password_reset_factor.html", {
        "error": error, "app": "app" in kinds, "passkey": "passkey" in kinds,
        "passkeys": passkeys.available(), "uidb64": uidb64, "target": user},
        status=400 if error else 200)


def _reset_user(request: HttpRequest, uidb64: str) -> User | None:
    token = str(request.session.get("lg_link_password_reset_confirm", ""))
    return _user_from_link(uidb64, token, password_reset_tokens) if token else None


@never_cache
@csrf_protect
@require_POST
def reset_passkey_options(request: HttpRequest, uidb64: str) -> HttpResponse:
    user = _reset_user(request, uidb64)
    if user is None:
        return JsonResponse({"ok": False, "error": "This link has expired."}, status=400)
    try:
        options = passkeys.authentication_options(session=request.session,
                                                  purpose=passkeys.RECOVER, user=user)
    except passkeys.Refused as refused:
        return JsonResponse({"ok": False, "error": str(refused)}, status=400)
    return JsonResponse({"ok": True, "publicKey": options})


@never_cache
@csrf_protect
@require_POST
def reset_passkey(request: HttpRequest, uidb64: str) -> HttpResponse:
    """A passkey instead of the app's code, before a reset link's new password."""
    user = _reset_user(request, uidb64)
    if user is None:
        return JsonResponse({"ok": False, "error": "This link has expired."}, status=400)
    try:
        passkeys.passkey_verify(session=request.session, purpose=passkeys.RECOVER,
                                credential=passkeys.posted(request.body).credential,
                                user=user, info=RequestInfo.of(request))
    except passkeys.Refused as refused:
        return JsonResponse({"ok": False, "error": str(refused)}, status=400)
    token = str(request.session.get("lg_link_password_reset_confirm", ""))
    request.session[FACTOR_KEY] = {"user_id": user.pk, "token": token}
    return JsonResponse({"ok": True, "redirect": reverse(
        "password_reset_confirm", kwargs={"uidb64": uidb64, "token": SET_PASSWORD})})
