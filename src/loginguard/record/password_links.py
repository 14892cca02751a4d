from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from loginguard.actions import credentials as passwords
from loginguard.devices.request_info import RequestInfo
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


def _set_password_page(request: HttpRequest, uidb64: str, token: str, *,
                       tokens: ExpiringTokenGenerator, url_name: str, template: str,
                       apply: Callable[..., None], done: str) -> HttpResponse:
    """Django's pattern for emailed links: opening the link moves its token into the
    session and redirects to a URL without it, so the token appears in no later request,
    Referer header or history entry (and the access log redacts the first one)."""
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
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        info = RequestInfo.of(request)
        apply(user=user, password=form.cleaned_data["new_password1"], info=info)
        request.session.pop(session_key, None)
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
             "it; we will email you a code.")


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_accept(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    return _set_password_page(
        request, uidb64, token, tokens=invitation_tokens, url_name="invitation_accept",
        template="users/invitation_accept.html", apply=passwords.invitation_accept,
        done="Your password is set. Log in with it; we will email you a code.")
