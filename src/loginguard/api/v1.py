"""The JSON API, version 1 (SPEC §6): django-ninja routers over the same services as the
pages. Authentication only by `Authorization: Bearer <token>`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from loginguard.apitokens.auth import token_authenticate
from loginguard.lib.clientip import client_ip

TOKEN_PARAMETERS = {"token", "access_token", "api_key", "apikey", "auth"}


class BearerToken(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        # A token in the URL or body would end up in logs and histories: refuse the request
        # rather than use or echo it.
        if TOKEN_PARAMETERS & {k.lower() for k in (*request.GET, *request.POST)}:
            raise AuthenticationError(
                401, "Send the token in the Authorization header, never in the URL or body.")
        if len(request.META.get("HTTP_AUTHORIZATION", "").split(",")) > 1:
            return None  # several Authorization headers were folded into one
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = token_authenticate(token, ip=client_ip(request))
        if row is None:
            return None
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


api = NinjaAPI(title="loginguard API", version="1", urls_namespace="api-v1",
               auth=BearerToken(), docs_url="/docs", openapi_url="/openapi.json",
               description="Personal API tokens from the Security section act as their user "
                           "inside their client account.")


class Error(Schema):
    detail: Any


def _error(request: HttpRequest, status: int, detail: Any) -> HttpResponse:
    response = api.create_response(request, {"detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="loginguard"'
    return response


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = str(exc)
    if not message or message == "Unauthorized":
        message = "Missing, malformed, revoked or expired token."
    return _error(request, 401, message)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _error(request, 422, exc.errors)


class AccountOut(Schema):
    id: int
    name: str


class MeOut(Schema):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    phone: str
    time_zone: str
    kind: str
    is_client_admin: bool
    account: AccountOut


@api.get("/me", response={200: MeOut, 401: Error}, summary="The token's user")
def me(request: HttpRequest) -> Any:
    return getattr(request, "auth")  # noqa: B009  (set by ninja's auth, untyped)
