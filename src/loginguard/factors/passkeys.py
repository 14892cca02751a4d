"""Passkeys and security keys (SPEC §14; WebAuthn through the ``webauthn`` package: no CBOR
or signature code of our own). Discoverable credentials with user verification, attestation
``none``. The relying party is BASE_URL's host (or WEBAUTHN_RP_ID, a parent domain of it)
and its origin is BASE_URL's; an IP address cannot be a WebAuthn RP ID, so passkeys are
unavailable (and hidden) on such an installation.

Every ceremony starts with a challenge kept in the session: single use (taken out before
it is checked), bound to the session and its purpose (and the user, when known), five
minutes. A sign counter that does not move forward is refused and audited, unless both
are 0 (synced passkeys report 0)."""

from __future__ import annotations

import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.request_info import RequestInfo
from loginguard.emails import kinds as emails
from loginguard.factors.models import Passkey, PasskeyUser, UsedChallenge
from loginguard.factors.proofs import Proof
from loginguard.lib import clock
from loginguard.users.models import User

CHALLENGE_KEY = "lg_webauthn"
CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_PASSKEYS = 20
MAX_CREDENTIAL_JSON = 16384  # an attestation with no certificates is a few hundred bytes
LAST_USED_RESOLUTION = timedelta(seconds=60)

REGISTER, SECOND_STEP, SIGN_IN, UNLOCK, RECOVER = (
    "register", "second_step", "sign_in", "unlock", "recover")


class Refused(Exception):
    """The ceremony failed: the message says what to do next (never why in detail)."""


def rp_id() -> str | None:
    """The relying party id, or None when BASE_URL's host is an IP address."""
    host = settings.WEBAUTHN_RP_ID or urlsplit(settings.BASE_URL).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host or None
    return None


def origin() -> str:
    parts = urlsplit(settings.BASE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def available() -> bool:
    return rp_id() is not None


def user_handle(user: User) -> bytes:
    """The user's WebAuthn handle, made on first use (random: never a name or an id)."""
    found = PasskeyUser.objects.filter(user=user).values_list("handle", flat=True).first()
    if found is not None:
        return bytes(found)
    row, _ = PasskeyUser.objects.get_or_create(user=user,
                                               defaults={"handle": secrets.token_bytes(32)})
    return bytes(row.handle)


# --- challenges: single use, this session, five minutes ----------------------------------

def _challenge_keep(session: SessionBase, purpose: str, user_id: int | None) -> bytes:
    challenge = secrets.token_bytes(32)
    session[CHALLENGE_KEY] = {"purpose": purpose, "user_id": user_id,
                              "challenge": bytes_to_base64url(challenge),
                              "until": (clock.now() + CHALLENGE_LIFETIME).isoformat()}
    return challenge


def _challenge_take(session: SessionBase, purpose: str, user_id: int | None) -> bytes:
    kept = session.pop(CHALLENGE_KEY, None)
    try:
        valid = (isinstance(kept, dict) and kept.get("purpose") == purpose
                 and kept.get("user_id") == user_id
                 and clock.now() < datetime.fromisoformat(str(kept.get("until"))))
        challenge = base64url_to_bytes(str(kept["challenge"])) if valid else None
    except (ValueError, TypeError):
        challenge = None
    if challenge is None:
        raise Refused("That passkey request has expired. Try again.")
    try:  # single use across processes: concurrent requests share the session's copy
        with transaction.atomic():
            UsedChallenge.objects.create(value=bytes_to_base64url(challenge),
                                         created_at=clock.now())
    except IntegrityError:
        raise Refused("That passkey request was answered already. Try again.") from None
    return challenge


@dataclass(frozen=True)
class Posted:
    """What the page's script posted: ``{"credential": {...}, "name": "..."}``."""

    credential: str | None  # the browser's answer, as JSON text for the ``webauthn`` parser
    name: object = None


def posted(body: bytes) -> Posted:
    """The passkey answer in a request body; anything unreadable is no answer (a clear
    refusal follows, never a 500)."""
    if len(body) > MAX_CREDENTIAL_JSON + 1024:
        return Posted(None)
    try:
        data = json.loads(body)
    except ValueError:
        return Posted(None)
    if not isinstance(data, dict):
        return Posted(None)
    credential = data.get("credential")
    return Posted(json.dumps(credential) if isinstance(credential, dict) else None,
                  data.get("name"))


def _credential(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_CREDENTIAL_JSON:
        raise Refused("Your browser sent no usable passkey answer. Try again.")
    return value


# --- registration ----------------------------------------------------------------------

def registration_options(*, session: SessionBase, user: User) -> dict[str, Any]:
    """What ``navigator.credentials.create`` needs, as JSON-ready data."""
    rp = rp_id()
    if rp is None:
        raise Refused("Passkeys are not available on this installation.")
    existing = [PublicKeyCredentialDescriptor(id=bytes(key.credential_id))
                for key in Passkey.objects.filter(user=user).only("credential_id")]
    options = generate_registration_options(
        rp_id=rp, rp_name="loginguard", user_name=user.username,
        user_id=user_handle(user), user_display_name=user.full_name or user.username,
        challenge=_challenge_keep(session, REGISTER, user.pk),
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=existing)
    data: dict[str, Any] = json.loads(options_to_json(options))
    return data


def clean_name(name: object) -> str:
    text = " ".join(name.split()) if isinstance(name, str) else ""
    if not text or len(text) > 64 or not text.isprintable():
        raise ValidationError("Give the passkey a name of 1 to 64 characters, e.g. "
                              "“Phone” or “Blue security key”.")
    return text


def passkey_add(*, session: SessionBase, user: User, credential: object, name: object,
                info: RequestInfo) -> Passkey:
    """Verify the browser's new credential against this session's challenge and keep it."""
    clean = clean_name(name)
    challenge = _challenge_take(session, REGISTER, user.pk)
    rp = rp_id()
    try:
        parsed = parse_registration_credential_json(_credential(credential))
        verified = verify_registration_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp or "",
            expected_origin=origin(), require_user_verification=True)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise Refused("That passkey could not be added. Try again, or use another "
                      "passkey or security key.") from exc
    transports = [str(t.value if isinstance(t, AuthenticatorTransport) else t)
                  for t in (parsed.response.transports or [])]
    with transaction.atomic():
        if Passkey.objects.filter(user=user).count() >= MAX_PASSKEYS:
            raise Refused(f"You already have {MAX_PASSKEYS} passkeys. Remove one first.")
        if Passkey.objects.filter(credential_id=verified.credential_id).exists():
            raise Refused("That passkey is already registered.")
        passkey = Passkey.objects.create(
            user=user, name=clean, credential_id=verified.credential_id,
            public_key=verified.credential_public_key, sign_count=verified.sign_count,
            transports=transports, aaguid=str(verified.aaguid),
            backup_eligible=verified.credential_device_type
            == CredentialDeviceType.MULTI_DEVICE,
            backup_state=verified.credential_backed_up, created_at=clock.now())
        audit_log(event_type=EventType.FACTOR_ADDED, subject=user, actor=user, info=info,
                  extra={"factor": "passkey", "name": clean,
                         "synced": passkey.backup_eligible})
        emails.send_factor_changed(user=user, added=True, factor="a passkey", name=clean,
                                   ip=info.ip)
    return passkey


def passkey_remove(*, user: User, passkey: Passkey, info: RequestInfo) -> None:
    with transaction.atomic():
        if Passkey.objects.filter(pk=passkey.pk, user=user).delete()[0]:
            audit_log(event_type=EventType.FACTOR_REMOVED, subject=user, actor=user,
                      info=info, extra={"factor": "passkey", "name": passkey.name})
            emails.send_factor_changed(user=user, added=False, factor="a passkey",
                                       name=passkey.name, ip=info.ip)


def passkey_rename(*, user: User, passkey: Passkey, name: object, info: RequestInfo) -> None:
    clean = clean_name(name)
    with transaction.atomic():
        Passkey.objects.filter(pk=passkey.pk, user=user).update(name=clean)
        audit_log(event_type=EventType.FACTOR_RENAMED, subject=user, actor=user, info=info,
                  extra={"factor": "passkey", "from": passkey.name, "to": clean})


# --- authentication --------------------------------------------------------------------

def authentication_options(*, session: SessionBase, purpose: str,
                           user: User | None = None) -> dict[str, Any]:
    """What ``navigator.credentials.get`` needs. With a ``user`` (a second step, an
    unlock): their credentials; without (a passwordless sign-in): any discoverable one."""
    rp = rp_id()
    if rp is None:
        raise Refused("Passkeys are not available on this installation.")
    allowed = ([PublicKeyCredentialDescriptor(id=bytes(key.credential_id))
                for key in Passkey.objects.filter(user=user).only("credential_id")]
               if user is not None else [])
    options = generate_authentication_options(
        rp_id=rp, challenge=_challenge_keep(session, purpose,
                                            user.pk if user is not None else None),
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        allow_credentials=allowed, user_verification=UserVerificationRequirement.REQUIRED)
    data: dict[str, Any] = json.loads(options_to_json(options))
    return data


@dataclass(frozen=True)
class Used:
    passkey: Passkey  # its user is not loaded: ``user_id`` (a sign-in reads the user with
    # its tenants through users.selectors)

    @property
    def user_id(self) -> int:
        return self.passkey.user_id

    @property
    def proof(self) -> Proof:
        return Proof.SYNCED_PASSKEY if self.passkey.backup_eligible else Proof.PASSKEY


def passkey_verify(*, session: SessionBase, purpose: str, credential: object,
                   info: RequestInfo, user: User | None = None) -> Used:
    """The passkey this assertion proves, for this session's challenge of ``purpose``
    (and ``user``, when the ceremony was for a known user); else ``Refused``."""
    challenge = _challenge_take(session, purpose, user.pk if user is not None else None)
    try:
        parsed = parse_authentication_credential_json(_credential(credential))
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise Refused("Your browser sent no usable passkey answer. Try again.") from exc
    # One statement: the credential with its user's handle (the user is read by the caller).
    found = Passkey.objects.filter(credential_id=parsed.raw_id).annotate(
        handle=F("user__passkey_handle__handle")).first()
    if found is None or (user is not None and found.user_id != user.pk):
        raise Refused("That passkey is not one of this account's. Use another, or sign "
                      "in with your password.")
    handle = getattr(found, "handle", None)
    if user is None and (parsed.response.user_handle is None or handle is None
                         or not secrets.compare_digest(parsed.response.user_handle,
                                                       bytes(handle))):
        raise Refused("That passkey is not one of this account's.")
    try:
        verified = verify_authentication_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id() or "",
            expected_origin=origin(), credential_public_key=bytes(found.public_key),
            credential_current_sign_count=0, require_user_verification=True)
    except WebAuthnException as exc:
        raise Refused("That passkey could not be checked. Try again.") from exc
    _counter_moves(found, verified.new_sign_count, info)
    now = clock.now()
    # Written when something changed; "last used" at most once a minute (a synced
    # passkey's counter stays 0), like a session's "last seen".
    if (verified.new_sign_count != found.sign_count
            or verified.credential_backed_up != found.backup_state
            or found.last_used_at is None or now - found.last_used_at > LAST_USED_RESOLUTION):
        Passkey.objects.filter(pk=found.pk).update(
            sign_count=verified.new_sign_count, backup_state=verified.credential_backed_up,
            last_used_at=now)
    return Used(passkey=found)


def _counter_moves(passkey: Passkey, new: int, info: RequestInfo) -> None:
    """WebAuthn §6.1.1: a signature counter that does not move forward may mean a cloned
    authenticator; refused (and audited) unless both are 0, as synced passkeys report."""
    if (new > 0 or passkey.sign_count > 0) and new <= passkey.sign_count:
        audit_log(event_type=EventType.PASSKEY_COUNTER_REGRESSED, subject=passkey.user,
                  info=info, extra={"name": passkey.name, "stored": passkey.sign_count,
                                    "received": new})
        raise Refused("That passkey could not be used: its signature counter went back, "
                      "which can mean it was copied. Use another, or remove it in your "
                      "Security section.")
