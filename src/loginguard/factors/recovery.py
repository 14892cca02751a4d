"""Recovery codes (SPEC §14): ten single-use codes, shown once (and offered as a text file
then), stored as keyed hashes; generating a new set replaces the old one. Using one
emails the user with how many are left."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.devices.request_info import RequestInfo
from loginguard.emails import kinds as emails
from loginguard.factors.models import RecoveryCode
from loginguard.lib import clock
from loginguard.users.models import User

COUNT = 10
# 10 characters of a 32-symbol alphabet without look-alikes (50 bits), shown as two groups
# of five: "k7xqm-2pdw9".
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
FORMAT = re.compile(r"[a-z0-9]{10}")


def _normal(code: object) -> str:
    """What a person typed, as stored: lower case, spaces and dashes dropped."""
    text = code.lower() if isinstance(code, str) else ""
    return "".join(ch for ch in text if ch not in " -\t") if len(text) <= 64 else ""


def _hashes(user_id: int, code: str) -> list[str]:
    """The code's keyed hash under the current key and every fallback key (a rotation
    keeps the codes working)."""
    return [salted_hmac("loginguard.factors.recovery", f"{user_id}:{code}", secret=key,
                        algorithm="sha256").hexdigest()
            for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def remaining(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at=None).count()


def codes_generate(*, user: User, info: RequestInfo) -> list[str]:
    """A new set of ten, replacing any earlier one; returned once, to be shown once."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(10)) for _ in range(COUNT)]
    now = clock.now()
    with transaction.atomic():
        replaced = RecoveryCode.objects.filter(user=user).delete()[0] > 0
        RecoveryCode.objects.bulk_create([
            RecoveryCode(user=user, code_hash=_hashes(user.pk, code)[0], created_at=now)
            for code in codes])
        audit_log(event_type=EventType.RECOVERY_CODES_GENERATED, subject=user, actor=user,
                  info=info, extra={"replaced": replaced})
        emails.send_recovery_codes_generated(user=user, replaced=replaced, ip=info.ip)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


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
                                            code_hash__in=_hashes(user.pk, code)).update(
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
