"""The provider's endpoints: the toolkit's views with loginguard's sign-in in front of
them (SPEC §11). ``/o/authorize`` sends an anonymous visitor through the same stages as
``/login/`` (password → code → trust prompt) and resumes afterwards.

What the toolkit's views leave open and these close (issue 25): every authorization
request is validated (client, redirect URI, parameters given once) before anything ends
a session; step-up (``prompt=login``, ``max_age``, ``acr_values``) is decided from that
validated request on GET and POST alike; the consent form's POST acts only on the request
the GET validated and stored in the session (never on the form's hidden fields); every
redirect back to a client carries ``iss`` (RFC 9207); and an ``id_token_hint`` at
``/o/logout/`` skips the question only when it names this very session."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.crypto import salted_hmac
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    OAuthToolkitError,
)
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.views import (
    AuthorizationView,
    ConnectDiscoveryInfoView,
    JwksInfoView,
    RPInitiatedLogoutView,
    TokenView,
    UserInfoView,
)
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749.errors import InvalidRequestError

from loginguard.audit.events import EventType
from loginguard.devices.request_info import RequestInfo
from loginguard.factors.proofs import phishing_resistant, second_factor
from loginguard.lib import clock
from loginguard.signin.flow import FORCE_CODE_KEY, FORCE_PASSKEY_KEY
from loginguard.signin.models import UserSession
from loginguard.signin.next_url import login_for_remember
from loginguard.signin.sessions import proofs_of, session_end
from loginguard.sso import keys, selectors, services
from loginguard.sso.models import Client

Application = get_application_model()

# Set when /o/authorize sends the browser to sign in: the time it asked, and whether the
# code is demanded even on a trusted device (acr_values=urn:loginguard:code).
ASKED_KEY = "lg_sso_asked"
# The authorization request a consent form answers, as the GET validated it.
CONSENT_KEY = "lg_sso_consent"
CONSENT_LIFETIME = timedelta(minutes=10)
# RFC 8707 resource indicators are the one parameter that may be given several times.
REPEATABLE = {"resource"}


def sid_for(row: UserSession) -> str:
    """The session's ``sid``: opaque, stable for the session, distinct per session."""
    return salted_hmac("loginguard.sso.sid", f"{row.pk}:{row.created_at.isoformat()}",
                       algorithm="sha256").hexdigest()[:32]


def with_iss(uri: str) -> str:
    """``uri`` with exactly one ``iss`` (RFC 9207 §2: on error responses as well)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", settings.SSO_ISSUER))
    return urlunsplit(parts._replace(query=urlencode(query)))


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Demands:
    """What the app asked of the sign-in, read from the validated request."""

    prompt: frozenset[str]
    max_age: int | None
    code: bool  # acr_values asks for urn:loginguard:code
    passkey: bool = False  # acr_values asks for urn:loginguard:passkey

    @classmethod
    def of(cls, oauth_request: Any) -> Demands:
        prompt = getattr(oauth_request, "prompt", None) or ""
        values = prompt.split() if isinstance(prompt, str) else list(prompt)
        raw_age = getattr(oauth_request, "max_age", None)
        age = str(raw_age) if raw_age is not None else ""
        acr = str(getattr(oauth_request, "acr_values", None) or "").split()
        return cls(prompt=frozenset(values),
                   max_age=int(age) if age.isascii() and age.isdigit() and len(age) < 10
                   else None,
                   code=services.ACR_CODE in acr, passkey=services.ACR_PASSKEY in acr)


class ConsentForm(AllowForm):
    # Names the stored, validated request the answer is for; the OAuth fields the form
    # also carries are for display only and never acted on.
    consent = forms.CharField(required=False, widget=forms.HiddenInput())


class AuthorizeView(AuthorizationView):
    template_name = "sso/consent.html"
    form_class = ConsentForm
    user_session: UserSession | None = None
    lg_request: tuple[list[str], dict[str, Any]] | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The signed-in session's row (None for a visitor): its sid, auth_time and end.
        self.user_session = UserSession.objects.filter(
            session_key=request.session.session_key).first() \
            if request.user.is_authenticated else None
        self.lg_request = None
        return super().dispatch(request, *args, **kwargs)

    # --- the request, validated once, before anything else ------------------------------

    def validate_authorization_request(self, request: Any) -> Any:
        if self.lg_request is None:
            self.lg_request = super().validate_authorization_request(request)
        return self.lg_request

    def _validated(self) -> tuple[list[str], dict[str, Any]] | HttpResponse:
        """The validated request, or the answer for an invalid one: the error page for an
        unknown client or redirect URI, a redirect to the app for the rest. Runs before
        anything can end a session (a cross-site GET with a bogus client ends nothing)."""
        try:
            scopes, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError as exc:
            return self.error_response(exc, application=None)
        repeated = sorted(key for key, values in self.request.GET.lists()
                          if len(values) > 1 and key not in REPEATABLE)
        if repeated:  # RFC 6749 §3.1: a parameter is never sent twice
            return self._error_redirect(credentials, InvalidRequestError(
                description=f"The parameter {repeated[0]} is repeated.",
                state=credentials.get("state")))
        return scopes, credentials

    # --- anonymous: sign in first ----------------------------------------------------------

    def handle_no_permission(self) -> HttpResponse:
        validated = self._validated()
        if isinstance(validated, HttpResponse):
            return validated
        _, credentials = validated
        demands = Demands.of(credentials["request"])
        if "none" in demands.prompt:
            return self._error_redirect(credentials, "login_required")
        return self._to_sign_in(demands)

    def _to_sign_in(self, demands: Demands, path: str | None = None) -> HttpResponse:
        session = self.request.session
        session[ASKED_KEY] = clock.now().isoformat()
        if demands.code:
            session[FORCE_CODE_KEY] = True
        if demands.passkey:
            session[FORCE_PASSKEY_KEY] = True
        if path is None:
            query = {k: v for k, v in self.request.GET.lists() if k != "prompt"}
            prompt = sorted(v for v in demands.prompt if v != "login")
            if prompt:
                query["prompt"] = [" ".join(prompt)]
            path = f"{self.request.path}?{urlencode(query, doseq=True)}"
        client_ids = parse_qs(urlsplit(path).query).get("client_id", [])
        client = (Client.objects.select_related("account", "application")
                  .filter(application__client_id=client_ids[0]).first()
                  if len(client_ids) == 1 else None)
        if client is not None:  # "Sign in to continue to Acme Campaigns" on /login/
            login_for_remember(session, target=path, app=client.application.name,
                               account=client.account.name if client.account else "")
        return redirect_to_login(path, settings.LOGIN_URL)

    # --- signed in -----------------------------------------------------------------------

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        validated = self._validated()
        if isinstance(validated, HttpResponse):
            return validated
        _, credentials = validated
        demands = Demands.of(credentials["request"])
        reason = self._sign_in_again(demands, fresh_once=True)
        if reason is not None:
            if "none" in demands.prompt:
                return self._error_redirect(credentials, "login_required")
            return self._restart(reason, demands)
        refusal = self._refuse_other_account(credentials["client_id"])
        if refusal is not None:
            return refusal
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The consent form's answer, acting on the request its GET validated."""
        if self.user_session is None:
            return self._restart("no_session", Demands(frozenset(), None, False))
        stored = self._consent_taken(request.POST.get("consent"))
        if stored is None:
            return self._invalid("This consent form has expired or was not shown to you "
                                 "here. Go back to the app and sign in again.")
        demands = Demands(frozenset(stored["prompt"]), None, bool(stored["code"]),
                          bool(stored.get("passkey")))
        if self._sign_in_again(demands, fresh_once=False) is not None:
            return self._restart("step_up", demands, path=stored["path"])
        refusal = self._refuse_other_account(stored["credentials"]["client_id"])
        if refusal is not None:
            return refusal
        application = Application.objects.filter(
            client_id=stored["credentials"]["client_id"]).first()
        if application is None:  # removed while the form was open
            return self._invalid("This app is no longer registered.")
        scopes, credentials = stored["scopes"], dict(stored["credentials"])
        allow = bool(request.POST.get("allow"))
        if allow:
            services.consent_record(user=self.user_session.user, application=application,
                                    scopes=scopes)
        self.lg_request = (scopes, credentials)
        try:
            uri, _, _, _ = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=allow)
        except OAuthToolkitError as exc:
            return self.error_response(exc, application)
        return self.redirect(uri, application)

    def _sign_in_again(self, demands: Demands, *, fresh_once: bool) -> str | None:
        """Why this request needs a fresh sign-in, or None. A sign-in this view asked for
        counts as fresh, once (``fresh_once``: the GET that comes back from it)."""
        if self.user_session is None:
            return "no_session"
        session = self.request.session
        proofs = proofs_of(session)
        if demands.code and second_factor(proofs) is None:
            return "step_up"
        if demands.passkey and not phishing_resistant(proofs):
            return "step_up_passkey"
        if not fresh_once:
            return None  # prompt and max_age were decided by the GET that showed the form
        asked = session.pop(ASKED_KEY, None)
        if asked is not None and self.user_session.created_at >= _parse(asked):
            return None
        if "login" in demands.prompt:
            return "prompt_login"
        if demands.max_age is not None and \
                clock.now() - self.user_session.created_at > timedelta(seconds=demands.max_age):
            return "max_age"
        return None

    def _restart(self, reason: str, demands: Demands, path: str | None = None) -> HttpResponse:
        """End this session (its apps are told) and sign in again."""
        session_end(self.request, event=EventType.SESSION_ENDED,
                    info=RequestInfo.of(self.request), reason=f"sso_{reason}")
        return self._to_sign_in(demands, path)

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

    def _error_redirect(self, credentials: dict[str, Any], error: Any) -> HttpResponse:
        """Tell the app at its validated redirect URI (with ``state`` and ``iss``)."""
        code = error if isinstance(error, str) else error.error
        params = [("error", code)]
        if not isinstance(error, str) and error.description:
            params.append(("error_description", error.description))
        if credentials.get("state"):
            params.append(("state", credentials["state"]))
        application = Application.objects.get(client_id=credentials["client_id"])
        return self.redirect(add_params_to_uri(credentials["redirect_uri"], params),
                             application)

    def _invalid(self, description: str) -> HttpResponse:
        return render(self.request, self.template_name, {
            "error": {"error": "invalid_request", "description": description}}, status=400)

    # --- consent ---------------------------------------------------------------------------

    def _consent_store(self, scopes: list[str], credentials: dict[str, Any]) -> str:
        """Keep the validated request the consent form answers; its id goes in the form."""
        assert self.user_session is not None
        demands = Demands.of(credentials["request"])
        kept = {key: value for key, value in credentials.items() if key != "request"}
        consent_id = secrets.token_urlsafe(16)
        self.request.session[CONSENT_KEY] = {
            "id": consent_id, "session_ref": self.user_session.pk,
            "at": clock.now().isoformat(), "scopes": list(scopes),
            "credentials": json.loads(json.dumps(kept, default=list)),
            "prompt": sorted(demands.prompt), "code": demands.code,
            "passkey": demands.passkey,
            "path": self.request.get_full_path()}
        return consent_id

    def _consent_taken(self, consent_id: object) -> dict[str, Any] | None:
        """The stored request this form answers, once; None when it is not this session's,
        is older than 10 minutes, or was answered already."""
        stored = self.request.session.pop(CONSENT_KEY, None)
        if not isinstance(stored, dict) or not isinstance(consent_id, str) or \
                not secrets.compare_digest(str(stored.get("id", "")), consent_id):
            return None
        assert self.user_session is not None
        if stored.get("session_ref") != self.user_session.pk or \
                clock.now() - _parse(stored.get("at")) > CONSENT_LIFETIME:
            return None
        return stored

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        application = context.get("application")
        if application is None or "form" not in context:  # an error page
            return super().render_to_response(context, **kwargs)
        assert self.lg_request is not None
        scopes, credentials = self.lg_request
        if services.consent_given(user=self.request.user, application=application,
                                  scopes=scopes):
            self.request.session.pop(CONSENT_KEY, None)
            uri, _, _, _ = self.create_authorization_response(
                request=self.request, scopes=" ".join(scopes), credentials=credentials,
                allow=True)
            return self.redirect(uri, application)
        if "none" in Demands.of(credentials["request"]).prompt:
            self.request.session.pop(CONSENT_KEY, None)
            return self._error_redirect(credentials, "consent_required")
        names: dict[str, str] = getattr(settings, "OAUTH2_PROVIDER", {})["SCOPES"]
        context["scope_list"] = [(s, names.get(s, s)) for s in scopes]
        context["form"].initial["consent"] = self._consent_store(scopes, credentials)
        # The form's POST ends in a redirect to this app: CSP form-action admits its
        # origin on this response only (web.middleware).
        self.request.lg_form_action = origin_of(credentials["redirect_uri"])
        return super().render_to_response(context, **kwargs)

    # --- every redirect to the app: iss, and the code's sign-in remembered ---------------

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        code = parse_qs(urlsplit(redirect_to).query).get("code")
        if code and application is not None and self.user_session is not None:
            scopes = self.lg_request[0] if self.lg_request is not None else []
            services.authorization_begin(
                code=code[0], user=self.request.user, application=application,
                session_ref=self.user_session.pk, sid=sid_for(self.user_session),
                auth_time=self.user_session.created_at,
                proofs=proofs_of(self.request.session), scope=" ".join(scopes))
        return super().redirect(with_iss(redirect_to), application)


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
            "acr_values_supported": [services.ACR_PASSKEY, services.ACR_CODE,
                                     services.ACR_TRUSTED_DEVICE],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            # Only what /o/authorize accepts: the hybrid types are refused there.
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "authorization_response_iss_parameter_supported": True,
            "revocation_endpoint": f"{settings.SSO_ISSUER}/o/revoke_token/",
            "introspection_endpoint": f"{settings.SSO_ISSUER}/o/introspect/",
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic",
                                                              "client_secret_post"],
        })
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        return response


class JwksView(JwksInfoView):
    """Every published key once: the signing key listed again among the published ones
    (an operator finishing a rotation) must not publish its ``kid`` twice, which strict
    libraries (openid-client, jose) refuse outright."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        found = json.loads(response.content)["keys"]
        unique = list({key["kid"]: key for key in reversed(found)}.values())[::-1]
        response.content = json.dumps({"keys": unique}).encode()
        return response


class TokenEndpointView(TokenView):
    """The toolkit's token endpoint; a refresh that lost a race to a parallel one (its
    tokens swept by reuse protection before the toolkit re-read them) is ``invalid_grant``,
    never a 500."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response: HttpResponse = super().post(request, *args, **kwargs)
        except ObjectDoesNotExist:
            response = JsonResponse({"error": "invalid_grant",
                                     "error_description": "The grant was revoked."},
                                    status=400)
            response["Cache-Control"] = "no-store"
        return response


class BearerOnlyUserInfoView(UserInfoView):
    """Userinfo reads the access token from ``Authorization: Bearer`` only: a token in
    the query string or the form body ends up in proxies' and servers' logs."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "access_token" in request.GET or "access_token" in request.POST:
            response = JsonResponse({"error": "invalid_request", "error_description":
                                     "Send the access token in the Authorization header."},
                                    status=400)
            response["WWW-Authenticate"] = 'Bearer error="invalid_request"'
            response["Cache-Control"] = "no-store"
            return response
        result: HttpResponse = super().dispatch(request, *args, **kwargs)
        return result


@dataclass(frozen=True)
class Hint:
    """A verified ``id_token_hint``: whose session it names and for which app."""

    application: Any
    user: Any
    sid: str | None


class LogoutView(RPInitiatedLogoutView):
    """RP-initiated logout ends the session like the Log out button: audit row, session
    list, and the back-channel logout of every other app of the session. It asks first
    unless the ``id_token_hint`` names this very session."""

    template_name = "sso/logout_confirm.html"
    lg_hint: Hint | None = None

    def validate_logout_request(self, id_token_hint: Any, client_id: Any,
                                post_logout_redirect_uri: Any) -> tuple[Any, Any]:
        hint = self._hint(id_token_hint, client_id)
        self.lg_hint = hint
        application = None
        if client_id:
            # An unknown client_id is the app's error: the error page, never a 500.
            application = Application.objects.filter(client_id=client_id).first()
            if application is None:
                raise InvalidOIDCClientError()
        elif hint is not None:
            application = hint.application
        self.validate_post_logout_redirect_uri(application, post_logout_redirect_uri)
        if post_logout_redirect_uri:
            # The confirmation's POST may end there: form-action admits it on this page.
            self.request.lg_form_action = origin_of(post_logout_redirect_uri)
        return application, hint.user if hint is not None else None

    def _hint(self, id_token_hint: Any, client_id: Any) -> Hint | None:
        """The hint, verified against every published key (a token signed before a key
        rotation stays a valid hint while its key is published)."""
        if not id_token_hint:
            return None
        claims = keys.verified_claims(str(id_token_hint))
        if claims is None or claims.get("iss") != settings.SSO_ISSUER:
            raise InvalidIDTokenError()
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if client_id and client_id not in audiences:
            raise ClientIdMissmatch()
        application = Application.objects.filter(client_id__in=[
            a for a in audiences if isinstance(a, str)]).first()
        if application is None:
            raise InvalidIDTokenError()
        user = selectors.user_of_sub(claims.get("sub"))
        sid = claims.get("sid")
        return Hint(application=application, user=user,
                    sid=sid if isinstance(sid, str) else None)

    def must_prompt(self, token_user: Any) -> bool:
        """Ask unless the hint names this session (its ``sid``): an ID token of an earlier
        session of the same user is no proof that this session's user wants to leave."""
        if not self.request.user.is_authenticated:
            return False
        hint = self.lg_hint
        if hint is None or token_user is None or token_user.pk != self.request.user.pk:
            return True
        row = UserSession.objects.filter(session_key=self.request.session.session_key).first()
        return row is None or hint.sid is None or \
            not secrets.compare_digest(hint.sid, sid_for(row))

    def do_logout(self, application: Any = None, post_logout_redirect_uri: Any = None,
                  state: Any = None, token_user: Any = None) -> HttpResponse:
        was_signed_in = self.request.user.is_authenticated
        if was_signed_in:
            session_end(self.request, event=EventType.SESSION_ENDED,
                        info=RequestInfo.of(self.request), reason="sso_logout")
        if post_logout_redirect_uri:
            return super().do_logout(application, post_logout_redirect_uri, state, token_user)
        # No app to go back to: loginguard's own sign-in page, as after its Log out button.
        if was_signed_in:
            messages.success(self.request, "You have been logged out.")
        return redirect("login")
