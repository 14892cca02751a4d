"""Single sign-on's writes (STYLE habit 4): registering clients, recording the sign-in an
authorization code comes from, consents, and ending token families when a session ends or
the user disconnects an app."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from oauth2_provider.models import get_application_model, get_refresh_token_model

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.factors.proofs import Proof, amr, phishing_resistant, second_factor
from loginguard.lib import clock
from loginguard.sso.backchannel import logout_queue
from loginguard.sso.models import Authorization, Client, Consent, Subject

if TYPE_CHECKING:
    from loginguard.users.models import User

Application = get_application_model()
RefreshToken = get_refresh_token_model()

ACR_PASSKEY = "urn:loginguard:passkey"
ACR_CODE = "urn:loginguard:code"
ACR_TRUSTED_DEVICE = "urn:loginguard:trusted-device"


def acr_of(proofs: list[Proof]) -> str:
    """The strongest of: a passkey used, a second factor entered, a trusted device."""
    if phishing_resistant(proofs):
        return ACR_PASSKEY
    return ACR_CODE if second_factor(proofs) is not None else ACR_TRUSTED_DEVICE


def checksum(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def refusal_record(*, client: Client, user: User, ip: str) -> None:
    """An account's app was asked to sign in a user it does not admit (SPEC §11)."""
    audit_log(event_type=EventType.SSO_REFUSED, subject=user, actor=user, ip=ip,
              extra={"client_id": client.application.client_id,
                  "app": client.application.name, "reason": "other_account"})


def subject_for(user: User) -> str:
    """The user's ``sub``, made on first use."""
    found = Subject.objects.filter(user=user).values_list("sub", flat=True).first()
    if found is not None:
        return found
    subject, _ = Subject.objects.get_or_create(user=user,
                                               defaults={"sub": secrets.token_hex(16)})
    return subject.sub


def authorization_begin(*, code: str, user: User, application: Any, session_ref: int,
                        sid: str, auth_time: Any, proofs: list[Proof], scope: str) -> None:
    """Tie a fresh authorization code to the session and sign-in it was issued in."""
    from loginguard.sso.selectors import email_verified

    now = clock.now()
    with transaction.atomic():
        subject_for(user)  # the token and userinfo reads find it
        Authorization.objects.create(
            code_checksum=checksum(code), user=user, application=application,
            session_ref=session_ref, sid=sid, auth_time=auth_time,
            amr=" ".join(amr(proofs)),
            acr=acr_of(proofs),
            scope=scope,
            email=user.email, email_verified=email_verified(user),
            created_at=now, last_used_at=now)
        audit_log(event_type=EventType.SSO_AUTHORIZED, subject=user, actor=user,
                  extra={"client_id": application.client_id, "app": application.name,
                      "scope": scope})


def authorizations_end(rows: QuerySet[Authorization]) -> int:
    """End these authorizations: their token families revoked (refresh tokens marked,
    access tokens deleted) and one logout token queued per app and session for apps with
    a back-channel URI. Call inside the transaction that ends the session."""
    ended = list(rows.filter(ended_at__isnull=True).select_related(
        "application__loginguard", "user"))
    if not ended:
        return 0
    with transaction.atomic():
        for row in ended:
            RefreshToken.revoke_family(row.family)
        Authorization.objects.filter(pk__in=[row.pk for row in ended]).update(
            ended_at=clock.now())
        owed = {(row.application_id, row.sid): row for row in ended}
        for row in owed.values():
            client = getattr(row.application, "loginguard", None)
            if client is not None and client.backchannel_logout_uri:
                logout_queue(application=row.application, uri=client.backchannel_logout_uri,
                             sub=subject_for(row.user), sid=row.sid,
                             allow_private=client.allow_private_addresses)
    return len(ended)


def app_disconnect(*, user: User, application: Any, actor: User) -> int:
    """The user's "Disconnect" in the Security section: every token of theirs for this app
    dies, the app is told, and it must ask for consent again."""
    with transaction.atomic():
        count = authorizations_end(Authorization.objects.filter(user=user,
                                                                application=application))
        Consent.objects.filter(user=user, application=application).delete()
        audit_log(event_type=EventType.SSO_APP_REVOKED, subject=user, actor=actor,
                  extra={"client_id": application.client_id, "app": application.name})
    return count


def consent_scope(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))


def consent_given(*, user: User, application: Any, scopes: Iterable[str]) -> bool:
    return Consent.objects.filter(user=user, application=application,
                                  scope=consent_scope(scopes)).exists()


def consent_record(*, user: User, application: Any, scopes: Iterable[str]) -> None:
    Consent.objects.get_or_create(user=user, application=application,
                                  scope=consent_scope(scopes),
                                  defaults={"created_at": clock.now()})
