"""Atomic counters on the database. Every update happens under ``select_for_update`` in
its own transaction, so concurrent requests on PostgreSQL (row lock) or SQLite (one
writer at a time) never lose an increment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from loginguard.lib import clock
from loginguard.throttle.models import Counter

MAX_LOCK = timedelta(hours=1)  # a lock never blocks the real user for longer


@dataclass(frozen=True)
class State:
    count: int
    locked_until: datetime | None

    def locked_for(self) -> int:
        """Seconds left on the lock, 0 when not locked."""
        if self.locked_until is None:
            return 0
        return max(0, int((self.locked_until - clock.now()).total_seconds() + 0.999))


def _locked_row(key: str, now: datetime) -> Counter:
    try:
        with transaction.atomic():
            return Counter.objects.select_for_update().get_or_create(
                key=key, defaults={"window_started_at": now})[0]
    except IntegrityError:  # created by a concurrent request between get and create
        return Counter.objects.select_for_update().get(key=key)


def read_many(keys: dict[str, timedelta | None]) -> dict[str, State]:
    """Several counters in one query (the sign-in path reads two on every attempt)."""
    now = clock.now()
    found = {row.key: row for row in Counter.objects.filter(key__in=list(keys))}
    states = {}
    for key, window in keys.items():
        row = found.get(key)
        stale = row is not None and window is not None and now - row.window_started_at > window
        states[key] = State(0, None) if row is None or stale else State(row.count,
                                                                         row.locked_until)
    return states


def read(key: str, window: timedelta | None = None) -> State:
    row = Counter.objects.filter(key=key).first()
    if row is None or (window is not None and clock.now() - row.window_started_at > window):
        return State(0, None)
    return State(row.count, row.locked_until)


def hit(key: str, *, window: timedelta | None = None, lock_from: int | None = None,
        lock_base: timedelta = timedelta(seconds=30)) -> State:
    """Add one. With ``window`` the count restarts when the window has passed; with
    ``lock_from`` the n-th hit and each after it lock for base × 2^(n - lock_from),
    capped at one hour."""
    now = clock.now()
    with transaction.atomic():
        row = _locked_row(key, now)
        if window is not None and now - row.window_started_at > window:
            row.count, row.window_started_at = 0, now
        row.count += 1
        if lock_from is not None and row.count >= lock_from:
            row.locked_until = now + min(lock_base * 2 ** (row.count - lock_from), MAX_LOCK)
        row.save()
        return State(row.count, row.locked_until)


def clear(key: str) -> None:
    Counter.objects.filter(key=key).delete()
