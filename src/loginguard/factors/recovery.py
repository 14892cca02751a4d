"""Recovery codes (SPEC §14): ten single-use codes, shown once (and offered as a text file
then), stored hashed; generating a new set replaces the old one. Using one emails the
user with how many are left.

Each code is 16 characters of a 31-symbol alphabet (about 79 random bits), so a plain
SHA-256 of it (with the user's id) is out of reach of offline guessing: no key is
involved, and rotating SECRET_KEY never breaks a user's saved codes."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.db import transaction

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.request_info import RequestInfo
from loginguard.emails import kinds as emails
from loginguard.factors.models import RecoveryCode
from loginguard.lib import clock
from loginguard.users.models import User

COUNT, LENGTH = 10, 16
# Without look-alikes (no 0/o, 1/l/i), shown as four groups of four: "k7xq-m2pd-w9fa-3hnc".
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
FORMAT = re.compile(r"[a-z0-9]{16}")


def _normal(code: object) -> str:
    """What a person typed, as stored: lower case, spaces and dashes dropped."""
    text = code.lower() if isinstance(code, str) else ""
    return "".join(ch for ch in text if ch not in " -\t") if len(text) <= 64 else ""


def _hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"loginguard-recovery:{user_id}:{code}".encode()).hexdigest()


def shown(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, LENGTH, 4))


def remaining(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at=None).count()


def codes_generate(*, user: User, info: RequestInfo) -> list[str]:
    """A new set of ten, replacing any earlier one; returned once, to be shown once."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    now = clock.now()
    with transaction.atomic():
        replaced = RecoveryCode.objects.filter(user=user).delete()[0] > 0
        RecoveryCode.objects.bulk_create([
            RecoveryCode(user=user, code_hash=_hash(user.pk, code), created_at=now)
            for code in codes])
        audit_log(event_type=EventType.RECOVERY_CODES_GENERATED, subject=user, actor=user,
                  info=info, extra={"replaced": replaced})
        emails.send_recovery_codes_generated(user=user, replaced=replaced, ip=info.ip)
    return [shown(code) for code in codes]


def codes_remove(*, user: User, info: RequestInfo) -> None:
    """The user drops their recovery codes."""
    with transaction.atomic():
        if RecoveryCode.objects.filter(user=user).delete()[0]:
            audit_log(event_type=EventType.FACTOR_REMOVED, subject=user, actor=user,
                      info=info, extra={"factor": "recovery_codes"})
            emails.send_factor_changed(user=user, added=False, factor="your recovery codes",
                                       name="", ip=info.ip)


def code_use(*, user: User, submitted: object, info: RequestInfo) -> bool:
    """Spend one of the user's unused codes: True once per code, even when the same code
    arrives twice at once (a conditional update). Audited, and the user is told how many
    are left."""
    code = _normal(submitted)
    if not FORMAT.fullmatch(code):
        return False
    now = clock.now()
    with transaction.atomic():
        spent = RecoveryCode.objects.filter(user=user, used_at=None,
                                            code_hash=_hash(user.pk, code)).update(
            used_at=now)
        if not spent:
            return False
        left = remaining(user)
        audit_log(event_type=EventType.RECOVERY_CODE_USED, subject=user, actor=user,
                  info=info, extra={"remaining": left})
        emails.send_recovery_code_used(user=user, remaining=left, info=info)
    return True


def as_text(codes: list[str], user: User) -> str:
    """The downloadable text file."""
    lines = [f"loginguard recovery codes for {user.username}", "",
             "Each code works once, instead of your passkey or authenticator app.",
             "Keep them somewhere safe and offline.", "", *codes, ""]
    return "\n".join(lines)
