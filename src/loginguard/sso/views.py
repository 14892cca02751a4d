"""The provider's endpoints: the toolkit's views with loginguard's sign-in in front of
them (SPEC §11). ``/o/authorize`` sends an anonymous visitor through the same stages as
``/login/`` (password → code → trust prompt) and resumes afterwards."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from oauth2_provider.exceptions import InvalidOIDCClientError, OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.views import (
    AuthorizationView,
    ConnectDiscoveryInfoView,
    RPInitiatedLogoutView,
)
from oauthlib.common import add_params_to_uri

from loginguard.audit.events import EventType
from loginguard.devices.request_info import RequestInfo
from loginguard.lib import clock
from loginguard.signin.flow import FORCE_CODE_KEY
from loginguard.signin.models import UserSession
from loginguard.signin.sessions import session_end, signed_in_with_code
from loginguard.sso import selectors, services
from loginguard.sso.models import Client

Application = get_application_model()

# Set when /o/authorize sends the browser to sign in: the time it asked, and whether the
# code is demanded even on a trusted device (acr_values=urn:loginguard:code).
ASKED_KEY = "lg_sso_asked"


def sid_for(row: UserSession) -> str:
    """The session's ``sid``: opaque, stable for the session, distinct per session."""
    return salted_hmac("loginguard.sso.sid", f"{row.pk}:{row.created_at.isoformat()}",
                       algorithm="sha256").hexdigest()[:32]


class AuthorizeView(AuthorizationView):
    template_name = "sso/consent.html"
    user_session: UserSession | None = None

    # --- anonymous: sign in first ------------------------------------------------------

    def handle_no_permission(self) -> HttpResponse:
        if "none" in self._prompt():
            return self._silent_error("login_required")
        return self._to_sign_in()

    def _to_sign_in(self) -> HttpResponse:
        session = self.request.session
        session[ASKED_KEY] = clock.now().isoformat()
        if services.ACR_CODE in self.request.GET.get("acr_values", "").split():
            session[FORCE_CODE_KEY] = True
        query = {k: v for k, v in self.request.GET.lists() if k != "prompt"}
        prompt = [v for v in self._prompt() if v != "login"]
        if prompt:
            query["prompt"] = [" ".join(prompt)]
        target = f"{self.request.path}?{urlencode(query, doseq=True)}"
        return redirect_to_login(target, settings.LOGIN_URL)

    # --- signed in -----------------------------------------------------------------------

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The signed-in session's row (None for a visitor): its sid, auth_time and end.
        self.user_session = UserSession.objects.filter(
            session_key=request.session.session_key).first() \
            if request.user.is_authenticated else None
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reason = self._sign_in_again()
        if reason is not None:
            if "none" in self._prompt():
                return self._silent_error("login_required")
            return self._restart(reason)
        refusal = self._refuse_other_account(request.GET.get("client_id"))
        if refusal is not None:
            return refusal
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.user_session is None:
            return self._restart("no_session")
        refusal = self._refuse_other_account(request.POST.get("client_id"))
        if refusal is not None:
            return refusal
        return super().post(request, *args, **kwargs)

    def _prompt(self) -> list[str]:
        return self.request.GET.get("prompt", "").split()

    def _sign_in_again(self) -> str | None:
        """Why this request needs a fresh sign-in (prompt=login, max_age, acr), or None.
        A sign-in this view asked for counts as fresh, once."""
        if self.user_session is None:
            return "no_session"
        session = self.request.session
        asked = session.pop(ASKED_KEY, None)
        fresh = asked is not None and self.user_session.created_at >= _parse(asked)
        if services.ACR_CODE in self.request.GET.get("acr_values", "").split() and \
                not signed_in_with_code(session):
            return "step_up"
        if fresh:
            return None
        if "login" in self._prompt():
            return "prompt_login"
        max_age = self.request.GET.get("max_age")
        if max_age is not None:
            if not (max_age.isascii() and max_age.isdigit() and len(max_age) < 10):
                return None  # malformed: the toolkit's validation answers it
            if clock.now() - self.user_session.created_at > timedelta(seconds=int(max_age)):
                return "max_age"
        return None

    def _restart(self, reason: str) -> HttpResponse:
        """End this session (its apps are told) and sign in again."""
        session_end(self.request, event=EventType.SESSION_ENDED,
                    info=RequestInfo.of(self.request), reason=f"sso_{reason}")
        return self._to_sign_in()

    def _refuse_other_account(self, client_id: object) -> HttpResponse | None:
        client = (Client.objects.select_related("account", "application")
                  .filter(application__client_id=client_id).first()
                  if isinstance(client_id, str) else None)
        user = self.request.user
        if client is None or selectors.client_admits(client, user):
            return None
        services.refusal_record(client=client, user=user, ip=RequestInfo.of(self.request).ip)
        return render(self.request, "sso/refused.html",
                      {"app": client.application.name, "account": client.account},
                      status=403)

    def _silent_error(self, error: str) -> HttpResponse:
        """prompt=none could not be honoured: tell the app at its (validated) redirect URI."""
        try:
            _, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError as exc:
            return self.error_response(exc, application=None)
        application = Application.objects.get(client_id=credentials["client_id"])
        params = [("error", error), ("iss", settings.SSO_ISSUER)]
        if credentials.get("state"):
            params.append(("state", credentials["state"]))
        return self.redirect(add_params_to_uri(credentials["redirect_uri"], params),
                             application)

    # --- consent ---------------------------------------------------------------------------

    def validate_authorization_request(self, request: Any) -> Any:
        scopes, credentials = super().validate_authorization_request(request)
        self.lg_request = (scopes, credentials)
        return scopes, credentials

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        application = context.get("application")
        if application is None or "form" not in context:  # an error page
            return super().render_to_response(context, **kwargs)
        scopes, credentials = self.lg_request
        if services.consent_given(user=self.request.user, application=application,
                                  scopes=scopes):
            uri, _, _, _ = self.create_authorization_response(
                request=self.request, scopes=" ".join(scopes), credentials=credentials,
                allow=True)
            return self.redirect(uri, application)
        if "none" in self._prompt():
            return self._silent_error("consent_required")
        names: dict[str, str] = getattr(settings, "OAUTH2_PROVIDER", {})["SCOPES"]
        context["scope_list"] = [(s, names.get(s, s)) for s in scopes]
        return super().render_to_response(context, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        if form.cleaned_data.get("allow"):
            application = Application.objects.filter(
                client_id=form.cleaned_data.get("client_id")).first()
            if application is not None:
                services.consent_record(user=self.request.user, application=application,
                                        scopes=str(form.cleaned_data.get("scope")).split())
        return super().form_valid(form)

    # --- the code goes out: remember which sign-in it came from --------------------------

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        code = parse_qs(urlsplit(redirect_to).query).get("code")
        if code and application is not None and self.user_session is not None:
            scopes = self.lg_request[0] if hasattr(self, "lg_request") else []
            services.authorization_begin(
                code=code[0], user=self.request.user, application=application,
                session_ref=self.user_session.pk, sid=sid_for(self.user_session),
                auth_time=self.user_session.created_at,
                with_code=signed_in_with_code(self.request.session), scope=" ".join(scopes))
        return super().redirect(redirect_to, application)


def _parse(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.max.replace(tzinfo=clock.now().tzinfo)


class DiscoveryView(ConnectDiscoveryInfoView):
    """The toolkit's discovery document, plus what loginguard adds."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = json.loads(super().get(request, *args, **kwargs).content)
        data.update({
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "acr_values_supported": [services.ACR_CODE, services.ACR_TRUSTED_DEVICE],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "revocation_endpoint": f"{settings.SSO_ISSUER}/o/revoke_token/",
        })
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        return response


class LogoutView(RPInitiatedLogoutView):
    """RP-initiated logout ends the session like the Log out button: audit row, session
    list, and the back-channel logout of every other app of the session."""

    template_name = "sso/logout_confirm.html"

    def get_request_application(self, id_token: Any, client_id: Any) -> Any:
        # An unknown client_id is the app's error, not ours: the error page, never a 500.
        if client_id and not Application.objects.filter(client_id=client_id).exists():
            raise InvalidOIDCClientError()
        return super().get_request_application(id_token, client_id)

    def do_logout(self, application: Any = None, post_logout_redirect_uri: Any = None,
                  state: Any = None, token_user: Any = None) -> HttpResponse:
        if self.request.user.is_authenticated:
            session_end(self.request, event=EventType.SESSION_ENDED,
                        info=RequestInfo.of(self.request), reason="sso_logout")
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)
