"""The sign-in stages of SPEC §2 as services: password -> code -> trust prompt.
Views call these; the JSON API will call the same ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction

from loginguard.access.rules import may_sign_in
from loginguard.audit.events import EventType
from loginguard.audit.services import audit_log
from loginguard.codes.models import CodePurpose
from loginguard.codes.services import (
    QuotaError,
    Verdict,
    code_issue,
    code_verify,
    factor_check,
)
from loginguard.devices import services as devices
from loginguard.devices.cookie import new_secret
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import RequestInfo
from loginguard.emails import kinds as emails
from loginguard.factors import policy
from loginguard.factors.registry import EMAIL, Factor
from loginguard.lib import clock
from loginguard.signin.models import TrustClaim
from loginguard.signin.pending import PendingLogin
from loginguard.tenancy.policy import ip_policy_for
from loginguard.throttle import policies
from loginguard.users.models import User, username_key
from loginguard.users.selectors import user_for_sign_in
from loginguard.users.validators import MAX_PASSWORD

GENERIC_ERROR = ("That username and password don't match, or this user can't sign in. "
                 "Check both and try again, or reset your password.")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verifying this for unknown users makes them cost one Argon2 like real ones.
    return make_password("loginguard-dummy-password-for-timing")


@dataclass(frozen=True)
class PasswordResult:
    user: User | None = None
    error: str | None = None
    # The user's trusted devices of this browser's secret, read once for the throttle and
    # handed on to the next stage.
    devices: list[TrustedDevice] = field(default_factory=list)


def password_check(*, username: object, password: object, info: RequestInfo) -> PasswordResult:
    """Stage 1. Unknown user, wrong password, inactive user and suspended account get the
    same answer after the same work (one Argon2 verify). The attempt is counted before the
    hash runs (``policies.password_attempt``), so no burst of requests gets more guesses
    than the budgets allow."""
    name = username if isinstance(username, str) else ""
    secret = password if isinstance(password, str) else ""
    # A NUL can't be stored in PostgreSQL text: such a name is simply unknown.
    key = "" if "\x00" in name else username_key(name.strip()[:150])
    user = user_for_sign_in(key) if key else None
    candidates = devices.browser_devices(user_id=user.pk if user is not None else None,
                                         secret=info.device_secret)
    attempt = policies.password_attempt(key, info.ip,
                                        trusted_browser=devices.trusted_browser(candidates))
    if attempt.ip_exhausted:
        return _throttled(key, info, "Too many failed sign-ins from your network. "
                                     "Wait a minute, then try again.")
    if not attempt.allowed:
        return _throttled(key, info, f"Too many failed attempts for this username. "
                                     f"Wait {_duration(attempt.lock_seconds)}, then try again.")
    if user is None or not secret or len(secret) > MAX_PASSWORD:
        check_password(secret[:MAX_PASSWORD], _dummy_hash())
        ok = False
    else:
        ok = user.check_password(secret)
    if ok and user is not None and may_sign_in(user):
        policies.password_attempt_succeeded(attempt)
        return PasswordResult(user=user, devices=candidates)
    audit_log(event_type=EventType.LOGIN_FAILED, subject=user, info=info,
              extra={"username": key, "reason": _reason(user, ok)})
    return PasswordResult(error=GENERIC_ERROR)


def _reason(user: User | None, ok: bool) -> str:
    if user is None:
        return "unknown_user"
    return "inactive" if ok else "wrong_password"


def _throttled(key: str, info: RequestInfo, message: str) -> PasswordResult:
    audit_log(event_type=EventType.LOGIN_THROTTLED, info=info,
              extra={"username_key": key})
    return PasswordResult(error=message)


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


@dataclass(frozen=True)
class Next:
    """Where a stage sends the browser: sign in now (``device``), ask for the second step
    (``pending``), or nothing fits (``refused``: an app demands a passkey the user has
    not got)."""

    signed_in_with: TrustedDevice | None = None
    pending: PendingLogin | None = None
    quota_error: str | None = None
    refused: str | None = None


NO_PASSKEY = ("The app you are signing in to asks for a passkey, and this account has "
              "none. Sign in without the app, add a passkey in the Security section of "
              "your user record, then try the app again.")


def after_password(*, user: User, info: RequestInfo,
                   candidates: list[TrustedDevice] | None = None,
                   force_code: bool = False, passkey_only: bool = False) -> Next:
    """The second step's entry (SPEC §2.3, §14): a trusted device whose last code is under
    30 days old skips it (unless an app demanded a factor in this sign-in: ``force_code``,
    ``passkey_only``); everything else is asked for the strongest factor the user has that
    the account's policy accepts, and an emailed code goes out only when that is the
    email."""
    device = devices.trusted_device_match(user=user, secret=info.device_secret,
                                          current=info.fingerprint, candidates=candidates)
    if device is not None and devices.code_is_fresh(device) and not (force_code or
                                                                      passkey_only):
        devices.trusted_device_used(device=device, info=info, code_verified=False)
        return Next(signed_in_with=device)
    step = policy.second_step(user, passkey_only=passkey_only)
    if not step.methods:
        return Next(refused=NO_PASSKEY)
    pending = PendingLogin.begin(user_id=user.pk, fp=info.fingerprint,
                                 device_id=device.pk if device else None,
                                 auth_hash=user.get_session_auth_hash(),
                                 methods=step.methods, enroll=step.enroll)
    problem = email_code_send(user=user, pending=pending, info=info, cooldown=False) \
        if pending.method == EMAIL else None
    return Next(pending=pending, quota_error=problem)


def email_code_send(*, user: User, pending: PendingLogin, info: RequestInfo,
                    cooldown: bool) -> str | None:
    """Issue and email a code for this pending login; an error message on quota."""
    try:
        with transaction.atomic():
            code = code_issue(user=user, purpose=CodePurpose.LOGIN, challenge=pending.challenge,
                              cooldown=cooldown, info=info)
            emails.send_verification_code(user=user, code=code, info=info)
    except QuotaError as exc:
        return f"{exc} Wait {_duration(exc.wait_seconds)} before asking for another code."
    pending.code_sent = True
    return None


def code_step(*, user: User, pending: PendingLogin, factor: Factor, submitted: object,
              info: RequestInfo) -> Verdict:
    """A code typed at the second step: the emailed code (this pending login's), or a
    factor's own (an authenticator app's, a recovery code), on the code step's lock."""
    if factor.key == EMAIL:
        return code_verify(user=user, purpose=CodePurpose.LOGIN, challenge=pending.challenge,
                           submitted=submitted, info=info)
    check = factor.check
    assert check is not None  # every CODE and RECOVERY factor has one
    return factor_check(user=user, info=info, factor=factor.key,
                        check=lambda: check(user, submitted, info))


def stale_device(*, user: User, pending: PendingLogin) -> TrustedDevice | None:
    """The already-trusted device that needed a code only because its code was stale."""
    if pending.device_id is None:
        return None
    return TrustedDevice.objects.filter(pk=pending.device_id, user=user).first()


def trusted_device_refreshed(*, device: TrustedDevice, info: RequestInfo) -> None:
    """A trusted device's code was due (30 days) and was just entered: its 30 days
    start again."""
    devices.trusted_device_used(device=device, info=info, code_verified=True)


def pending_valid(*, user: User, pending: PendingLogin, info: RequestInfo) -> bool:
    """The pending login may go on: asked from the browser, OS and IP (under the account's
    policy) that passed the password step, and the password has not changed since."""
    return (pending.started_on(ip_policy_for(user), info.fingerprint)
            and pending.password_unchanged(user.get_session_auth_hash()))


def trust_claim(*, pending: PendingLogin) -> bool:
    """Take this pending login's last step, once: of several concurrent submits of one
    trust form exactly one gets True (the first insert of its challenge; the others meet
    the unique index), so one sign-in makes one session, one device and one alert. Call
    inside the transaction that signs in."""
    try:
        with transaction.atomic():
            TrustClaim.objects.create(challenge=pending.challenge, created_at=clock.now())
    except IntegrityError:
        return False
    return True


def trust_declined(*, user: User, info: RequestInfo) -> None:
    """Stage 3, "No": the help page's alert goes out on every such sign-in."""
    with transaction.atomic():
        audit_log(event_type=EventType.UNTRUSTED_LOGIN, subject=user, actor=user, info=info)
        emails.send_untrusted_login(user=user, info=info)


def trust_accepted(*, user: User, name: str, info: RequestInfo
                   ) -> tuple[str, TrustedDevice]:
    """Stage 3, "Yes": a fresh device secret, never the one the browser brought (a cookie
    planted by someone else must not become trusted); the browser's other device rows move
    to it. Returns the secret for the cookie, and the device."""
    secret = new_secret()
    device = devices.trusted_device_create(user=user, secret=secret, name=name, info=info,
                                           replaces=info.device_secret)
    return secret, device


TOO_MANY = "Too many wrong passwords. Wait a few minutes, then try again."
WRONG = "That is not your password. Type the password you sign in with."


def own_password_error(user: User, secret: str, info: RequestInfo) -> str | None:
    """The signed-in user's own password (the Security section's unlock, a password
    change), checked under the password-step budgets (SPEC §4: wrong passwords here count
    like sign-in failures, reserved before the hash runs); an error message, or None."""
    candidates = devices.browser_devices(user_id=user.pk, secret=info.device_secret)
    attempt = policies.password_attempt(user.username_key, info.ip,
                                        trusted_browser=devices.trusted_browser(candidates))
    if not attempt.allowed:
        return TOO_MANY
    if not secret or len(secret) > MAX_PASSWORD or not user.check_password(secret):
        audit_log(event_type=EventType.SECURITY_UNLOCK_FAILED, subject=user, actor=user,
                  info=info)
        return WRONG
    policies.password_attempt_succeeded(attempt)
    return None
