from __future__ import annotations

import enum
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils.crypto import salted_hmac

from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.codes.models import CodePurpose, OneTimeCode
from loginguard.devices.request_info import NO_REQUEST, RequestInfo
from loginguard.emails import kinds as emails
from loginguard.lib import clock
from loginguard.throttle import policies
from loginguard.users.models import User

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES_PER_CODE = 5
# ASCII digits only: "١٢٣٤٥٦" (Arabic-Indic) passes str.isdigit() but is not a code.
CODE_FORMAT = re.compile(r"[0-9]{6}", re.ASCII)


class Verdict(enum.Enum):
    OK = "ok"
    WRONG = "wrong"          # wrong or malformed; tries remain
    EXPIRED = "expired"      # older than 10 minutes
    USED_UP = "used_up"      # 5 wrong tries, already used, or replaced: ask for a new one
    LOCKED = "locked"        # too many failures for this user: wait


class QuotaError(Exception):
    def __init__(self, wait_seconds: int, message: str) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


def _digest(*, user_id: int, purpose: str, challenge: str, code: str) -> str:
    return salted_hmac("loginguard.codes", f"{purpose}|{user_id}|{challenge}|{code}",
                       algorithm="sha256").hexdigest()


def _check_cooldown(user: User, purpose: str) -> None:
    last = OneTimeCode.objects.filter(user=user, purpose=purpose).values_list(
        "created_at", flat=True).first()
    if last is not None and clock.now() - last < policies.RESEND_COOLDOWN:
        wait = policies.RESEND_COOLDOWN - (clock.now() - last)
        raise QuotaError(int(wait.total_seconds()) + 1,
                         "A code was sent less than a minute ago.")


def code_issue(*, user: User, purpose: CodePurpose, challenge: str, cooldown: bool,
               info: RequestInfo = NO_REQUEST) -> str:
    """Create the one live code of this challenge (replacing any earlier one) and return
    it for the caller's email. Raises ``QuotaError`` past 5 an hour or within the
    60-second resend cooldown; the caller's transaction then rolls back."""
    if cooldown:
        _check_cooldown(user, purpose)
    code = f"{secrets.randbelow(10**6):06d}"
    now = clock.now()
    with transaction.atomic():
        # Counted and checked in one atomic step: two concurrent requests can never both
        # take the fifth code of the hour.
        if not policies.code_issued(user.pk, purpose):
            raise QuotaError(3600, "Too many codes were requested in the last hour.")
        OneTimeCode.objects.filter(challenge=challenge, used_at=None, revoked=False).update(
            revoked=True)
        OneTimeCode.objects.create(
            user=user, purpose=purpose, challenge=challenge, created_at=now,
            expires_at=now + CODE_LIFETIME,
            code_hmac=_digest(user_id=user.pk, purpose=purpose, challenge=challenge, code=code),
        )
        audit_log(event_type=EventType.CODE_SENT, subject=user, actor=user, info=info,
                  extra={"purpose": str(purpose)})
    return code


def code_verify(*, user: User, purpose: CodePurpose, challenge: str, submitted: object,
                info: RequestInfo = NO_REQUEST) -> Verdict:
    """Check a submitted code. Every attempt is counted toward the user's lock-out (of this
    purpose) and the code's five tries before it is judged, so concurrent guesses get no
    more tries than the budgets allow; a right code clears the lock-out count."""
    attempt = policies.code_attempt(user.pk, purpose)
    if not attempt.allowed:  # locked: even the right code is refused, and counted
        count_failure(user, purpose, policies.code_failed(user.pk, purpose), info)
        return Verdict.LOCKED
    text = "".join(str(submitted).split()) if isinstance(submitted, str) else ""
    live = OneTimeCode.objects.filter(
        user=user, purpose=purpose, challenge=challenge, used_at=None, revoked=False
    ).first()
    verdict = _judge(live, user, purpose, challenge, text)
    if verdict is not Verdict.OK:
        return count_failure(user, purpose, attempt.state, info) or verdict
    policies.code_succeeded(user.pk, purpose)
    audit_log(event_type=EventType.CODE_VERIFIED, subject=user, actor=user, info=info,
              extra={"purpose": str(purpose)})
    return Verdict.OK


def _judge(live: OneTimeCode | None, user: User, purpose: str, challenge: str,
           text: str) -> Verdict:
    if live is None:
        return Verdict.USED_UP
    # One of the code's five tries, taken before comparing: only five requests can ever
    # get past this line for one code, however many arrive at once.
    took_try = OneTimeCode.objects.filter(
        pk=live.pk, used_at=None, revoked=False, attempts__lt=MAX_TRIES_PER_CODE
    ).update(attempts=F("attempts") + 1)
    if not took_try:
        return Verdict.USED_UP
    if clock.now() > live.expires_at:
        return Verdict.EXPIRED
    expected = live.code_hmac
    given = _digest(user_id=user.pk, purpose=purpose, challenge=challenge,
                    code=text if CODE_FORMAT.fullmatch(text) else "-")
    if not hmac.compare_digest(expected, given):
        return Verdict.WRONG
    # Single use under concurrency: only one request can flip used_at from NULL.
    claimed = OneTimeCode.objects.filter(
        pk=live.pk, used_at=None, revoked=False).update(used_at=clock.now())
    return Verdict.OK if claimed == 1 else Verdict.USED_UP


def count_failure(user: User, purpose: str, state: policies.State,
                  info: RequestInfo, factor: str = "email") -> Verdict | None:
    audit_log(event_type=EventType.CODE_FAILED, subject=user, actor=user, info=info,
              extra={"consecutive": state.count, "purpose": purpose, "factor": factor})
    if state.count == policies.CODE_LOCK_FROM and purpose == CodePurpose.LOGIN:
        # SPEC §2.1: the password was right, so a lock-out here is a compromise signal.
        # (An email-change code proves no password: its lock-out sends no such alert.)
        with transaction.atomic():
            audit_log(event_type=EventType.CODE_LOCKED, subject=user, actor=user, info=info,
                      extra={"locked_for": state.locked_for()})
            emails.send_code_lockout(user=user, info=info)
    return Verdict.LOCKED if state.locked_for() else None


def codes_revoke_all(*, user: User) -> None:
    OneTimeCode.objects.filter(user=user, used_at=None, revoked=False).update(revoked=True)


def factor_check(*, user: User, info: RequestInfo, factor: str,
                 check: Callable[[], bool]) -> Verdict:
    """A factor's code (an authenticator app's, a recovery code) judged on the sign-in code
    step's lock (SPEC §14: wrong app and recovery codes count like wrong emailed codes):
    counted before ``check`` runs, refused while locked, cleared by a right one."""
    attempt = policies.code_attempt(user.pk, CodePurpose.LOGIN)
    if not attempt.allowed:
        count_failure(user, CodePurpose.LOGIN,
                      policies.code_failed(user.pk, CodePurpose.LOGIN), info, factor)
        return Verdict.LOCKED
    if not check():
        return count_failure(user, CodePurpose.LOGIN, attempt.state, info,
                             factor) or Verdict.WRONG
    policies.code_succeeded(user.pk, CodePurpose.LOGIN)
    audit_log(event_type=EventType.FACTOR_USED, subject=user, actor=user, info=info,
              extra={"factor": factor})
    return Verdict.OK
