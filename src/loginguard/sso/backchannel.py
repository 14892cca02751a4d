"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a signed logout token
POSTed by the worker to each app that received tokens in a session that ended. Queued in
the transaction that ends the session, retried with backoff, failures recorded; never
sent from the request that ended the session."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import uuid
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from jwcrypto import jwt
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.lib import clock
from loginguard.sso import uris
from loginguard.sso.models import BackchannelLogout, LogoutStatus

logger = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)


def logout_queue(*, application: object, uri: str, sub: str, sid: str,
                 allow_private: bool = False) -> BackchannelLogout:
    """Owe ``application`` a logout token. Call inside the transaction that ends the
    session: the row and its task commit (or roll back) with it."""
    row = BackchannelLogout.objects.create(application=application, uri=uri, sub=sub,
                                           sid=sid, allow_private=allow_private,
                                           created_at=clock.now())
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


class PinnedHTTPConnection(http.client.HTTPConnection):
    """A connection to the address that was checked, never to whatever the name resolves
    to a moment later (DNS rebinding)."""

    def __init__(self, host: str, port: int | None, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.lg_address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.lg_address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: connected to the checked address, the certificate verified for
    the registered host name (SNI and hostname check as usual)."""

    def __init__(self, host: str, port: int | None, *, address: str, timeout: float) -> None:
        self.lg_context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.lg_context)
        self.lg_address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.lg_address, self.port), self.timeout)
        self.sock = self.lg_context.wrap_socket(sock, server_hostname=self.host)


def post_logout_token(uri: str, token: str, *, allow_private: bool = False) -> None:
    """POST it to the registered URI; raises OSError unless the app answers 2xx. The host
    is resolved now and must still be public (unless the operator allowed private
    addresses); the request goes to the address checked, and a redirect is never
    followed (a logout token goes to the registered URI only)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    addresses = uris.resolve(host) if allow_private else uris.public_addresses(host)
    if not addresses:
        raise uris.Unreachable(f"{host} does not resolve")
    timeout = float(settings.BACKCHANNEL_TIMEOUT_SECONDS)
    kind = PinnedHTTPSConnection if parts.scheme == "https" else PinnedHTTPConnection
    connection = kind(host, parts.port, address=addresses[0], timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=urlencode({"logout_token": token}),
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Cache-Control": "no-store"})
        response = connection.getresponse()
        response.read(65536)
    except http.client.HTTPException as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise OSError(f"the app answered {response.status}")


@task(queue_name="sso")
def deliver_logout(row_id: int) -> None:
    row = (BackchannelLogout.objects.select_related("application")
           .filter(pk=row_id, status=LogoutStatus.QUEUED).first())
    if row is None:  # delivered by an earlier run, or its app was removed
        return
    try:
        post_logout_token(row.uri, logout_token(row), allow_private=row.allow_private)
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
            audit_log(event_type=EventType.SSO_LOGOUT_FAILED,
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
