from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from loginguard.apitokens import format as token_format
from loginguard.apitokens.models import ApiToken
from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.request_info import NO_REQUEST, RequestInfo
from loginguard.emails import kinds as emails
from loginguard.lib import clock
from loginguard.users.models import UserKind

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from loginguard.users.models import User

EXPIRY_DAYS = (7, 30, 90, 365)
DEFAULT_EXPIRY_DAYS = 90
MAX_LIVE_TOKENS = 50


def live_tokens(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at=None, expires_at__gt=clock.now())


def api_token_create(*, user: User, name: str, days: int,
                     info: RequestInfo = NO_REQUEST) -> tuple[ApiToken, str]:
    """Create a token for a client user; returns the row and the token, which is never
    stored and never shown again."""
    if user.kind != UserKind.CLIENT:
        raise PermissionDenied("Reseller users cannot have API tokens.")
    name = " ".join(name.split())
    if not name or len(name) > 64 or not name.isprintable():
        raise ValidationError("Give the token a name of 1 to 64 characters.")
    if days not in EXPIRY_DAYS:
        raise ValidationError("Choose an expiry of 7, 30, 90 or 365 days.")
    with transaction.atomic():
        # The user's row lock serialises concurrent creations: count-then-insert alone let
        # two requests both take the 50th place.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if live_tokens(user).count() >= MAX_LIVE_TOKENS:
            raise ValidationError(f"You already have {MAX_LIVE_TOKENS} active tokens. "
                                  "Revoke one you no longer use first.")
        token = token_format.generate()
        now = clock.now()
        row = ApiToken.objects.create(
            user=user, name=name, token_hash=token_format.token_hash(token),
            display_prefix=token[:token_format.DISPLAY_PREFIX_LENGTH], created_at=now,
            expires_at=now + timedelta(days=days))
        audit_log(event_type=EventType.TOKEN_CREATED, subject=user, actor=user, info=info,
                  extra={"token": row.display_prefix, "name": name,
                                             "days": days})
        emails.send_token_created(user=user, token=row, ip=info.ip)
    return row, token


def api_token_revoke(*, user: User, token: ApiToken, actor: User,
                     info: RequestInfo) -> None:
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=clock.now())
        if updated:
            audit_log(event_type=EventType.TOKEN_REVOKED, subject=user, actor=actor, info=info,
                      extra={"token": token.display_prefix})


def api_tokens_revoke_all(*, user: User, reason: str) -> int:
    count = ApiToken.objects.filter(user=user, revoked_at=None).update(revoked_at=clock.now())
    if count:
        audit_log(event_type=EventType.TOKEN_REVOKED, subject=user,
                  extra={"count": count, "reason": reason})
    return count
