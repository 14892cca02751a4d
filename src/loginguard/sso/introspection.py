"""RFC 7662 token introspection at ``/o/introspect/``: how an app's API checks a token it
was handed. Only a confidential client that authenticates (``client_secret_basic`` or
``client_secret_post``) may ask, and it learns only about its own tokens: anybody else's
token, an unknown, expired or revoked one, or one whose user can no longer sign in, is
``{"active": false}`` and nothing more. Userinfo says who a token belongs to but not for
which app: an API must check ``client_id``/``aud`` here before trusting a token."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OAuthRequest

from loginguard.access.rules import may_sign_in
from loginguard.lib import clock
from loginguard.sso import services

Application = get_application_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
INACTIVE = {"active": False}


def _answer(data: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    response["Cache-Control"] = "no-store"
    return response


def authenticated_client(request: HttpRequest) -> Any:
    """The confidential client whose credentials came with the request, or None."""
    oauth_request = OAuthRequest(
        request.build_absolute_uri(), http_method="POST",
        body=urlencode(list(request.POST.lists()), doseq=True),
        # Both spellings, as the toolkit's own OAuthLibCore.extract_headers hands them over
        # (its validator reads HTTP_AUTHORIZATION).
        headers={"Authorization": request.headers.get("Authorization", ""),
                 "HTTP_AUTHORIZATION": request.headers.get("Authorization", "")})
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    if not validator.authenticate_client(oauth_request):
        return None
    client = getattr(oauth_request, "client", None)
    if client is None or client.client_type != Application.CLIENT_CONFIDENTIAL:
        return None
    return client


def _active(token: str, client: Any) -> dict[str, Any] | None:
    """The answer for a live token of ``client``, or None."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = clock.now()
    access = AccessToken.objects.select_related("user").filter(token_checksum=digest).first()
    if access is not None:
        if access.application_id != client.pk or access.expires <= now:
            return None
        user, scope, expires, kind = access.user, access.scope, access.expires, "Bearer"
    else:
        refresh = (RefreshToken.objects.select_related("user", "access_token")
                   .filter(token_checksum=digest).first())
        lifetime = timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
        if refresh is None or refresh.application_id != client.pk or \
                refresh.revoked is not None or refresh.created + lifetime <= now:
            return None
        user, expires, kind = refresh.user, refresh.created + lifetime, "refresh_token"
        scope = refresh.access_token.scope if refresh.access_token is not None else ""
    if user is None or not may_sign_in(user):
        return None
    return {"active": True, "client_id": client.client_id, "aud": client.client_id,
            "sub": services.subject_for(user), "scope": scope, "exp": int(expires.timestamp()),
            "token_type": kind, "iss": settings.SSO_ISSUER}


@csrf_exempt  # an app's server calls it with its client credentials, never a browser
@require_POST
def introspect(request: HttpRequest) -> HttpResponse:
    client = authenticated_client(request)
    if client is None:
        response = _answer({"error": "invalid_client", "error_description":
                            "Authenticate as a confidential client (HTTP Basic, or "
                            "client_id and client_secret in the body)."}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="loginguard"'
        return response
    tokens = request.POST.getlist("token")
    if len(tokens) != 1 or not tokens[0] or len(tokens[0]) > 4096:
        return _answer({"error": "invalid_request",
                        "error_description": "Give the token once, in the form body."},
                       status=400)
    return _answer(_active(tokens[0], client) or INACTIVE)
