"""The JSON API, version 1 (SPEC §6): django-ninja routers over the same services as the
pages. Authentication only by `Authorization: Bearer <token>`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer
from pydantic import ConfigDict

from loginguard.access.guards import access_user_by_id
from loginguard.access.logs import security_log_visible_to
from loginguard.access.rules import can_administer, visible_users
from loginguard.actions import users as user_actions
from loginguard.apitokens.auth import token_authenticate
from loginguard.devices.request_info import RequestInfo
from loginguard.factors.registry import kinds_of, with_kinds
from loginguard.lib.clientip import client_ip
from loginguard.users.models import User

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
    factors: list[str] = Field(
        default_factory=list, description="The kinds of sign-in factor beyond the emailed "
        "code the user has: passkey, app, recovery_codes (never a secret).")

    @staticmethod
    def resolve_factors(obj: User) -> list[str]:
        return kinds_of(obj)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "Not found.")


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or "Your role does not allow this.")


@api.exception_handler(DjangoValidationError)
def on_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return _error(request, 422, " ".join(exc.messages))


ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error}
PAGE_MAX = 100


class Pagination(LimitOffsetPagination):
    """limit 1–100 (default 50), offset 0–1,000,000: documented bounds, no overflow."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=PAGE_MAX)
        offset: int = Field(0, ge=0, le=1_000_000)


def actor_of(request: HttpRequest) -> User:
    user = getattr(request, "auth")  # noqa: B009  (set by the bearer auth, untyped)
    assert isinstance(user, User)
    return user


@api.get("/me", response={200: MeOut, **ERRORS}, summary="The token's user")
def me(request: HttpRequest) -> Any:
    return actor_of(request)


class AccountDetailOut(Schema):
    id: int
    name: str
    ip_match: str
    reseller: str | None = Field(None, alias="reseller.name")


@api.get("/account", response={200: AccountDetailOut, **ERRORS},
         summary="The token's client account")
def account(request: HttpRequest) -> Any:
    return actor_of(request).account


@api.get("/users", response={200: list[MeOut], **ERRORS}, summary="Users you can see")
@paginate(Pagination)
def users(request: HttpRequest) -> Any:
    return with_kinds(visible_users(actor_of(request))).order_by("username_key")


class InviteIn(Schema):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(..., min_length=1, max_length=150)
    email: str = Field(..., min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    is_client_admin: bool = False


@api.post("/users", response={201: MeOut, **ERRORS},
          summary="Invite a user to your account (client admins)")
def invite(request: HttpRequest, payload: InviteIn) -> Any:
    actor = actor_of(request)
    # The same rule as the page's invitation form (access.rules.can_administer).
    if actor.account is None or not can_administer(actor, actor.account):
        raise PermissionDenied("Only client admins can invite users.")
    user = user_actions.user_create(username=payload.username, email=payload.email,
                       account=actor.account, is_client_admin=payload.is_client_admin,
                       invite=True, actor=actor)
    return Status(201, user)


@api.get("/users/{user_id}", response={200: MeOut, **ERRORS}, summary="One user")
def user_detail(request: HttpRequest, user_id: str) -> Any:
    return access_user_by_id(actor_of(request), user_id)


class UserPatch(Schema):
    """Only the User Details a user (or their admin) may set. Role, active flag, account,
    kind, username and email are not accepted here (email changes need the code sent to
    the new address): sending one is a 422."""

    model_config = ConfigDict(extra="forbid")
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    phone: str | None = Field(None, max_length=40)
    time_zone: str | None = Field(None, max_length=64)


@api.patch("/users/{user_id}", response={200: MeOut, **ERRORS},
           summary="Change a user's details")
def user_patch(request: HttpRequest, user_id: str, payload: UserPatch) -> Any:
    actor = actor_of(request)
    target = access_user_by_id(actor, user_id)
    data = {field: getattr(target, field) for field in user_actions.DETAIL_LIMITS}
    data["time_zone"] = target.time_zone
    data.update(payload.model_dump(exclude_none=True))
    user_actions.user_update_details(actor=actor, target=target, data=data,
                               info=RequestInfo.of(request))
    return target


class EventOut(Schema):
    id: int
    event_type: str
    created_at: datetime
    ip: str | None
    subject: str | None = Field(None, alias="subject.username")
    actor: str | None = Field(None, alias="actor.username")


@api.get("/security-log", response={200: list[EventOut], **ERRORS},
         summary="Your security log (client admins: the account's)")
@paginate(Pagination)
def security_log(request: HttpRequest) -> Any:
    return security_log_visible_to(actor_of(request))
