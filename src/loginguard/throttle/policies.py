"""Named rate-limit policies (SPEC §2.1, §2.6) with their budgets in plain sight.
Each has a test in tests/throttle/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from loginguard.throttle import counters
from loginguard.throttle.counters import State

# Password step (sign-in, Security-section unlock, password change). Failures expire an
# hour after the first of a run, so one guess an hour can never keep a lock alive.
PASSWORD_FAILURE_WINDOW = timedelta(hours=1)
# Per username and source: backoff from the 5th failure, 30 s doubling, at most 1 hour. The
# source is the browser's trusted-device secret when it holds one of that user's, else the
# client IP: failures from elsewhere never lock out the user's own trusted browser.
# (Keyed by the normalised name whether or not the user exists, so a lock-out tells an
# attacker nothing about which names are real.)
PASSWORD_LOCK_FROM = 5
# Per username from every source together, a higher ceiling against a spray from many
# addresses: backoff from the 50th failure within the hour. A browser holding one of the
# user's trusted-device secrets is exempt: knowing the username cannot block the real user.
PASSWORD_USER_LOCK_FROM = 50
# Per client IP: at most 20 failures a minute.
PASSWORD_IP_BUDGET, PASSWORD_IP_WINDOW = 20, timedelta(minutes=1)
# Code step, per user and purpose, not reset by resending: 10 consecutive failures lock it,
# 30 s doubling up to 1 hour. Sign-in codes and email-change codes count separately.
CODE_LOCK_FROM = 10
# Codes issued per user and purpose (sign-in, email change): at most 5 an hour, one a
# minute.
CODES_PER_HOUR, CODE_WINDOW = 5, timedelta(hours=1)
RESEND_COOLDOWN = timedelta(seconds=60)
# Password-reset emails: 5 an hour per address, 20 an hour per IP (mail-bombing).
RESET_PER_EMAIL, RESET_PER_IP, RESET_WINDOW = 5, 20, timedelta(hours=1)
# Mail someone else makes loginguard send (an admin's reset link or invitation, an API
# invitation): each attempt counts against the actor, 30 an hour (which also bounds how
# fast an admin can probe usernames through invitations); each email against its
# address, 3 an hour.
ADMIN_MAIL_PER_ACTOR, ADMIN_MAIL_PER_TARGET = 30, 3
ADMIN_MAIL_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class PasswordAttempt:
    """A password attempt counted in advance as a failure (``password_attempt``); the
    caller hashes only when ``allowed``, and reports a success with
    ``password_attempt_succeeded``."""

    allowed: bool
    ip_exhausted: bool = False
    lock_seconds: int = 0
    reserved: tuple[str, ...] = ()


def password_attempt(username_key: str, ip: str, *,
                     trusted_browser: str | None = None) -> PasswordAttempt:
    """Reserve one password attempt against every budget, before any hashing: concurrent
    requests cannot all pass the checks and then all hash. ``trusted_browser`` names the
    trusted device (of this user) whose secret the browser holds, if any."""
    with counters.batch():
        return _password_reserve(username_key, ip, trusted_browser)


def _password_reserve(username_key: str, ip: str, trusted_browser: str | None
                      ) -> PasswordAttempt:
    ip_key = f"pw-ip:{ip}"
    if not counters.reserve(ip_key, window=PASSWORD_IP_WINDOW,
                            budget=PASSWORD_IP_BUDGET).allowed:
        return PasswordAttempt(False, ip_exhausted=True)
    source = f"device:{trusted_browser}" if trusted_browser else f"ip:{ip}"
    budgets = [(f"pw-user:{username_key}", PASSWORD_USER_LOCK_FROM)] if not trusted_browser \
        else []
    budgets.append((f"pw-user:{username_key}:{source}", PASSWORD_LOCK_FROM))
    reserved = [ip_key]
    for key, lock_from in budgets:
        answer = counters.reserve(key, window=PASSWORD_FAILURE_WINDOW, lock_from=lock_from)
        if not answer.allowed:
            for earlier in reserved:  # a refused attempt is no failure: give back the rest
                counters.release(earlier)
            return PasswordAttempt(False, lock_seconds=answer.state.locked_for())
        reserved.append(key)
    return PasswordAttempt(True, reserved=tuple(reserved))


def password_attempt_succeeded(attempt: PasswordAttempt) -> None:
    """The password was right: the IP's budget gets its reservation back (it counts
    failures) and this username's counters are cleared (SPEC §2.6)."""
    ip_key, *user_keys = attempt.reserved
    with counters.batch():
        counters.release(ip_key)
        for key in user_keys:
            counters.clear(key)


def password_counters_clear(username_key: str) -> None:
    """After a password reset or an operator's unlock: the username-wide counter (the
    per-source ones expire within the hour)."""
    counters.clear(f"pw-user:{username_key}")


def user_locks_clear(*, username_key: str, user_id: int, code_purposes: list[str]
                     ) -> list[str]:
    """The operator's unlock: everything that can keep this user from signing in — every
    password counter of this username (every source and the username-wide one), the
    code-step locks and the codes-an-hour quotas of each purpose. What each cleared one
    was, in words (an empty list: nothing was blocking)."""
    labels = {f"pw-user:{username_key}": "the password lock on the username"}
    for purpose in code_purposes:
        words = "sign-in" if purpose == "login" else purpose.replace("_", "-")
        labels[_code_key(user_id, purpose)] = f"the {words} code-step lock"
        labels[_issued_key(user_id, purpose)] = (f"the {words} code quota "
                                                 f"({CODES_PER_HOUR} codes an hour)")
    cleared = counters.clear_all(list(labels), prefix=f"pw-user:{username_key}:")
    sources = sum(1 for key in cleared if key not in labels)
    return [labels[key] for key in labels if key in cleared] + (
        [f"the password backoff from {sources} address(es) or browser(s)"] if sources else [])


def _issued_key(user_id: int, purpose: str) -> str:
    return f"code-issued:{purpose}:{user_id}"


def _code_key(user_id: int, purpose: str) -> str:
    return f"code-user:{user_id}" if purpose == "login" else f"code-{purpose}:{user_id}"


def code_attempt(user_id: int, purpose: str) -> counters.Reservation:
    """Count a code attempt as a failure before it is judged, or refuse it while the code
    step is locked."""
    return counters.reserve(_code_key(user_id, purpose), lock_from=CODE_LOCK_FROM)


def code_failed(user_id: int, purpose: str = "login") -> State:
    return counters.hit(_code_key(user_id, purpose), lock_from=CODE_LOCK_FROM)


def code_succeeded(user_id: int, purpose: str = "login") -> None:
    counters.clear(_code_key(user_id, purpose))


def code_issued(user_id: int, purpose: str) -> bool:
    """Count one more code of this purpose; False when it would be past the hour's budget
    (the database store's count rolls back with the refused request)."""
    state = counters.hit(_issued_key(user_id, purpose), window=CODE_WINDOW)
    return state.count <= CODES_PER_HOUR


def admin_mail_allowed(actor_id: int, address: str) -> bool:
    """One email an admin (or an API token) makes loginguard send to ``address``."""
    actor_key = f"admin-mail-actor:{actor_id}"
    if not counters.reserve(actor_key, window=ADMIN_MAIL_WINDOW,
                            budget=ADMIN_MAIL_PER_ACTOR).allowed:
        return False
    return counters.reserve(f"admin-mail-to:{address.casefold()}", window=ADMIN_MAIL_WINDOW,
                            budget=ADMIN_MAIL_PER_TARGET).allowed


def reset_request_allowed(email: str, ip: str) -> bool:
    by_email = counters.hit(f"reset-email:{email.casefold()}", window=RESET_WINDOW)
    by_ip = counters.hit(f"reset-ip:{ip}", window=RESET_WINDOW)
    return by_email.count <= RESET_PER_EMAIL and by_ip.count <= RESET_PER_IP
