"""Bearer-token authentication (SPEC §6): the format and checksum are checked before any
database query; then one indexed SHA-256 lookup and a constant-time compare."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from django.db.models import Q

from loginguard.apitokens import format as token_format
from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.selectors import token_by_hash
from loginguard.lib import clock
from loginguard.users.models import UserKind

LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_authenticate(token: str, *, ip: str) -> ApiToken | None:
    """The live token row (with its user and account loaded), or None."""
    if not token_format.well_formed(token):
        return None  # typo or garbage: no query at all
    digest = token_format.token_hash(token)
    row = token_by_hash(digest)
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    now = clock.now()
    user = row.user
    if row.revoked_at is not None or row.expires_at <= now or not user.is_active \
            or user.kind != UserKind.CLIENT or user.account is None or not user.account.is_active:
        return None
    _touch(row, ip, now)
    return row


def _touch(row: ApiToken, ip: str, now: datetime) -> None:
    # "Last used" without a write per request: at most one UPDATE a minute per token, and
    # the condition makes concurrent requests agree on who writes it.
    stale = row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION
    if not stale:
        return
    cutoff = now - LAST_USED_RESOLUTION
    ApiToken.objects.filter(Q(last_used_at=None) | Q(last_used_at__lte=cutoff),
                            pk=row.pk).update(last_used_at=now, last_used_ip=ip or None)
