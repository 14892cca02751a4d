"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a signed logout token
POSTed by the worker to each app that received tokens in a session that ended. Queued in
the transaction that ends the session, retried with backoff, failures recorded; never
sent from the request that ended the session."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from jwcrypto import jwt
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from loginguard.audit.events import EventType
from loginguard.audit.services import record
from loginguard.lib import clock
from loginguard.sso.models import BackchannelLogout, LogoutStatus

logger = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)


def logout_queue(*, application: object, uri: str, sub: str, sid: str) -> BackchannelLogout:
    """Owe ``application`` a logout token. Call inside the transaction that ends the
    session: the row and its task commit (or roll back) with it."""
    row = BackchannelLogout.objects.create(application=application, uri=uri, sub=sub,
                                           sid=sid, created_at=clock.now())
    deliver_logout.using(queue_name="sso").enqueue(row.pk)
    return row


def logout_token(row: BackchannelLogout) -> str:
    """The signed JWT of §2.4: iss, aud, iat, exp, jti, sub, sid, events; never a nonce."""
    key = jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY)
    now = int(clock.now().timestamp())
    claims = {"iss": settings.SSO_ISSUER, "aud": row.application.client_id,
              "iat": now, "exp": now + int(LOGOUT_TOKEN_LIFETIME.total_seconds()),
              "jti": str(uuid.uuid4()), "sub": row.sub, "sid": row.sid, "events": {EVENT: {}}}
    token = jwt.JWT(header={"alg": "RS256", "typ": "logout+jwt", "kid": key.thumbprint()},
                    claims=json.dumps(claims))
    token.make_signed_token(key)
    return str(token.serialize())


def retry_delay(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … capped at one hour."""
    seconds = settings.BACKCHANNEL_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, 3600))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A logout token goes to the registered URI only, never where a redirect points.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_logout_token(uri: str, token: str) -> None:
    """POST it; raises OSError (urllib's errors included) unless the app answers 2xx."""
    body = urlencode({"logout_token": token}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Cache-Control": "no-store"}
    # S310: the URI was checked to be http(s) when the app was registered.
    request = urllib.request.Request(uri, data=body, method="POST", headers=headers)  # noqa: S310
    with _opener.open(request, timeout=settings.BACKCHANNEL_TIMEOUT_SECONDS) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(uri, response.status, "not 2xx", response.headers,
                                         None)


@task(queue_name="sso")
def deliver_logout(row_id: int) -> None:
    row = (BackchannelLogout.objects.select_related("application")
           .filter(pk=row_id, status=LogoutStatus.QUEUED).first())
    if row is None:  # delivered by an earlier run, or its app was removed
        return
    try:
        post_logout_token(row.uri, logout_token(row))
    except (OSError, ValueError) as exc:
        _failed(row, f"{type(exc).__name__}: {exc}"[:500])
        return
    BackchannelLogout.objects.filter(pk=row.pk).update(
        status=LogoutStatus.SENT, attempts=row.attempts + 1, sent_at=clock.now(),
        last_error="")


def _failed(row: BackchannelLogout, error: str) -> None:
    attempts = row.attempts + 1
    with transaction.atomic():
        if attempts >= settings.BACKCHANNEL_MAX_ATTEMPTS:
            BackchannelLogout.objects.filter(pk=row.pk).update(
                status=LogoutStatus.FAILED, attempts=attempts, last_error=error)
            record(event_type=EventType.SSO_LOGOUT_FAILED,
                   extra={"client_id": row.application.client_id,
                          "app": row.application.name,
                          "sid": row.sid, "attempts": attempts, "error": error})
            logger.warning("back-channel logout to %s failed for good after %d attempts: %s",
                           row.uri, attempts, error)
            return
        BackchannelLogout.objects.filter(pk=row.pk).update(attempts=attempts,
                                                           last_error=error)
        deliver_logout.using(queue_name="sso",
                             run_after=timezone.now() + retry_delay(attempts)).enqueue(row.pk)
    logger.info("back-channel logout to %s failed (attempt %d), retrying: %s",
                row.uri, attempts, error)
