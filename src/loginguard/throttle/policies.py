"""Named rate-limit policies (SPEC §2.1, §2.6) with their budgets in plain sight.
Each has a test in tests/throttle/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from loginguard.throttle import counters
from loginguard.throttle.counters import State

# Password step, per username (keyed by the normalised name whether or not the user
# exists, so a lock-out tells an attacker nothing about which names are real):
# backoff from the 5th consecutive failure, 30 s doubling, at most 1 hour.
PASSWORD_LOCK_FROM = 5
# Password step, per client IP: at most 20 failures a minute.
PASSWORD_IP_BUDGET, PASSWORD_IP_WINDOW = 20, timedelta(minutes=1)
# Code step, per user, not reset by resending: 10 consecutive failures lock it,
# 30 s doubling up to 1 hour.
CODE_LOCK_FROM = 10
# Codes issued per user and purpose (sign-in, email change): at most 5 an hour, one a
# minute.
CODES_PER_HOUR, CODE_WINDOW = 5, timedelta(hours=1)
RESEND_COOLDOWN = timedelta(seconds=60)
# Password-reset emails: 5 an hour per address, 20 an hour per IP (mail-bombing).
RESET_PER_EMAIL, RESET_PER_IP, RESET_WINDOW = 5, 20, timedelta(hours=1)


@dataclass(frozen=True)
class PasswordGate:
    ip_exhausted: bool
    lock_seconds: int
    failures: int


def password_gate(username_key: str, ip: str) -> PasswordGate:
    """Both password budgets, read in one query before any hashing."""
    user_key, ip_key = f"pw-user:{username_key}", f"pw-ip:{ip}"
    states = counters.read_many({user_key: None, ip_key: PASSWORD_IP_WINDOW})
    return PasswordGate(ip_exhausted=states[ip_key].count >= PASSWORD_IP_BUDGET,
                        lock_seconds=states[user_key].locked_for(),
                        failures=states[user_key].count)


def password_lock_seconds(username_key: str) -> int:
    return counters.read(f"pw-user:{username_key}").locked_for()


def password_failed(username_key: str, ip: str) -> State:
    counters.hit(f"pw-ip:{ip}", window=PASSWORD_IP_WINDOW)
    return counters.hit(f"pw-user:{username_key}", lock_from=PASSWORD_LOCK_FROM)


def password_succeeded(username_key: str) -> None:
    # Clears only this user's counter: the IP's budget keeps counting (SPEC §2.6).
    counters.clear(f"pw-user:{username_key}")


def code_failures(user_id: int) -> State:
    return counters.read(f"code-user:{user_id}")


def code_failed(user_id: int) -> State:
    return counters.hit(f"code-user:{user_id}", lock_from=CODE_LOCK_FROM)


def code_succeeded(user_id: int) -> None:
    counters.clear(f"code-user:{user_id}")


def code_issued(user_id: int, purpose: str) -> bool:
    """Count one more code of this purpose; False when it would be past the hour's budget
    (the database store's count rolls back with the refused request)."""
    state = counters.hit(f"code-issued:{purpose}:{user_id}", window=CODE_WINDOW)
    return state.count <= CODES_PER_HOUR


def reset_request_allowed(email: str, ip: str) -> bool:
    by_email = counters.hit(f"reset-email:{email.casefold()}", window=RESET_WINDOW)
    by_ip = counters.hit(f"reset-ip:{ip}", window=RESET_WINDOW)
    return by_email.count <= RESET_PER_EMAIL and by_ip.count <= RESET_PER_IP
