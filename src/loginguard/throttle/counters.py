"""Atomic counters shared by every process (SPEC §2.6): rows in the database, or hashes in
Redis when `REDIS_URL` is set.

Database: every update happens under ``select_for_update`` in its own transaction, so
concurrent requests on PostgreSQL (row lock) or SQLite (one writer at a time) never lose an
increment. Redis: every update is one Lua script, which Redis runs atomically. Both take
"now" from `loginguard.lib.clock`, so windows and locks behave the same on either."""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from loginguard.lib import clock, rows
from loginguard.throttle.models import Counter

COUNTER = rows.Picked(Counter, "c", ("id", "key", "count", "window_started_at", "locked_until"))

MAX_LOCK = timedelta(hours=1)  # a lock never blocks the real user for longer
LOCK_BASE = timedelta(seconds=30)  # the first lock; each further failure doubles it


@dataclass(frozen=True)
class State:
    count: int
    locked_until: datetime | None

    def locked_for(self) -> int:
        """Seconds left on the lock, 0 when not locked."""
        if self.locked_until is None:
            return 0
        return max(0, int((self.locked_until - clock.now()).total_seconds() + 0.999))


def _state(count: int, started: datetime, locked: datetime | None, now: datetime,
           window: timedelta | None) -> State:
    if window is not None and now - started > window:
        return State(0, None)
    return State(count, locked)


def _locked_until(count: int, now: datetime, lock_from: int | None,
                  lock_base: timedelta, previous: datetime | None) -> datetime | None:
    if lock_from is None or count < lock_from:
        return previous
    return now + min(lock_base * 2 ** min(count - lock_from, 32), MAX_LOCK)


@dataclass(frozen=True)
class Reservation:
    """The answer of ``reserve``: whether this attempt may go ahead (it was counted), and
    the counter's state (when refused: as it stands, unchanged)."""

    allowed: bool
    state: State


class Store(Protocol):
    def read_many(self, keys: dict[str, timedelta | None], now: datetime
                  ) -> dict[str, State]: ...

    def hit(self, key: str, now: datetime, window: timedelta | None, lock_from: int | None,
            lock_base: timedelta) -> State: ...

    def reserve(self, key: str, now: datetime, window: timedelta | None,
                lock_from: int | None, lock_base: timedelta, budget: int | None
                ) -> Reservation: ...

    def release(self, key: str) -> None: ...

    def clear(self, key: str) -> None: ...

    def clear_all(self, keys: list[str], prefix: str) -> list[str]: ...


@cache
def _by_keys_sql(count: int) -> str:
    """Counters by key, for ``count`` keys, in one indexed query."""
    marks = ", ".join(["%s"] * count)
    # Table and column names from the model, values only as parameters.
    return (f"SELECT {COUNTER.sql} FROM {Counter._meta.db_table} c "  # noqa: S608
            f"WHERE c.key IN ({marks})")


# The row-level statements of DatabaseStore, written once (STYLE: a hot path may run plain
# SQL through Django's cursor in a named statement). Compiling the equivalent querysets
# cost more Python than the statements themselves, and a password attempt runs five.
@cache
def _statements() -> dict[str, str]:
    table = Counter._meta.db_table
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Names from the model; every value is a parameter.
    return {
        "locked": f"SELECT {COUNTER.sql} FROM {table} c "  # noqa: S608
                  f'WHERE c."key" = %s{lock}',
        "insert": f'INSERT INTO {table} ("key", "count", "window_started_at", '  # noqa: S608
                  '"locked_until") VALUES (%s, %s, %s, %s)',
        "update": f'UPDATE {table} SET "count" = %s, "window_started_at" = %s, '  # noqa: S608
                  '"locked_until" = %s WHERE "key" = %s',
        "release": f'UPDATE {table} SET "count" = "count" - 1 '  # noqa: S608
                   'WHERE "key" = %s AND "count" > 0',
        "delete": f'DELETE FROM {table} WHERE "key" = %s',  # noqa: S608
    }


def _when(value: datetime | None) -> Any:
    """A datetime as this database stores it (the ORM's own adaptation)."""
    return connection.ops.adapt_datetimefield_value(value)


def _execute(name: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_statements()[name], params)
        return int(cursor.rowcount)


class DatabaseStore:
    """`throttle_counter` rows, one per key."""

    def read_many(self, keys: dict[str, timedelta | None], now: datetime
                  ) -> dict[str, State]:
        found = {row.key: row for row in (
            COUNTER.build(r) for r in rows.fetch(_by_keys_sql(len(keys)), list(keys)))}
        return {key: State(0, None) if (row := found.get(key)) is None else
                _state(row.count, row.window_started_at, row.locked_until, now, window)
                for key, window in keys.items()}

    def hit(self, key: str, now: datetime, window: timedelta | None, lock_from: int | None,
            lock_base: timedelta) -> State:
        with transaction.atomic(savepoint=False):
            row = self._locked_row(key, now)
            if window is not None and now - row.window_started_at > window:
                row.count, row.window_started_at = 0, now
            row.count += 1
            row.locked_until = _locked_until(row.count, now, lock_from, lock_base,
                                             row.locked_until)
            self._save(row)
            return State(row.count, row.locked_until)

    def reserve(self, key: str, now: datetime, window: timedelta | None,
                lock_from: int | None, lock_base: timedelta, budget: int | None
                ) -> Reservation:
        with transaction.atomic(savepoint=False):
            row = self._select_locked(key)
            if row is None and budget != 0:
                first = self._first(key, now, _locked_until(1, now, lock_from, lock_base, None))
                if first is not None:  # a new key: inserted already counting this attempt
                    return Reservation(True, State(1, first.locked_until))
            row = row or self._locked_row(key, now)
            if window is not None and now - row.window_started_at > window:
                row.count, row.window_started_at, row.locked_until = 0, now, None
            if (row.locked_until is not None and row.locked_until > now) or (
                    budget is not None and row.count >= budget):
                return Reservation(False, State(row.count, row.locked_until))
            row.count += 1
            row.locked_until = _locked_until(row.count, now, lock_from, lock_base,
                                             row.locked_until)
            self._save(row)
            return Reservation(True, State(row.count, row.locked_until))

    @staticmethod
    def _select_locked(key: str) -> Counter | None:
        """The key's row, locked until the transaction ends (PostgreSQL: FOR UPDATE;
        SQLite: the transaction already holds the database's write lock)."""
        found = rows.fetch(_statements()["locked"], [key])
        return COUNTER.build(found[0]) if found else None

    @staticmethod
    def _save(row: Counter) -> None:
        _execute("update", [row.count, _when(row.window_started_at), _when(row.locked_until),
                            row.key])

    @staticmethod
    def _first(key: str, now: datetime, locked_until: datetime | None) -> Counter | None:
        """Insert the key's row with its first count, or None when a concurrent request
        inserted it first (then the caller locks and updates that row)."""
        try:
            with transaction.atomic():
                _execute("insert", [key, 1, _when(now), _when(locked_until)])
        except IntegrityError:
            return None
        return Counter(key=key, count=1, window_started_at=now, locked_until=locked_until)

    def release(self, key: str) -> None:
        _execute("release", [key])

    def _locked_row(self, key: str, now: datetime) -> Counter:
        # A concurrent request may create the row between our SELECT and INSERT, and
        # another may clear (delete) it again before we read it: look again each time.
        for _ in range(10):
            row = self._select_locked(key)
            if row is not None:
                return row
            try:
                with transaction.atomic():  # a savepoint only when the row is new
                    _execute("insert", [key, 0, _when(now), None])
            except IntegrityError:
                continue
            return Counter(key=key, count=0, window_started_at=now, locked_until=None)
        raise RuntimeError(f"throttle counter {key!r} kept changing under us")

    def clear(self, key: str) -> None:
        _execute("delete", [key])

    def clear_all(self, keys: list[str], prefix: str) -> list[str]:
        rows = Counter.objects.filter(Q(key__in=keys) | Q(key__startswith=prefix))
        found = list(rows.values_list("key", flat=True))
        rows.delete()
        return found


# KEYS[1]: the counter's hash. ARGV: now, window (s, or -1 for none), lock_from (or -1),
# lock base (s), longest lock (s), expiry (s). Returns {count, locked_until or ""}.
# Same rules as DatabaseStore.hit, run by Redis as one atomic step.
HIT_SCRIPT = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local lock_from, base, longest = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local fields = redis.call('HMGET', KEYS[1], 'c', 's', 'l')
local count, started, locked = tonumber(fields[1]) or 0, tonumber(fields[2]) or now, fields[3]
if window >= 0 and now - started > window then count, started = 0, now end
count = count + 1
if lock_from >= 0 and count >= lock_from then
  locked = tostring(now + math.min(base * 2 ^ math.min(count - lock_from, 32), longest))
end
redis.call('HSET', KEYS[1], 'c', count, 's', tostring(started))
if locked then redis.call('HSET', KEYS[1], 'l', locked) end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {count, locked or ''}
"""
# Same as DatabaseStore.reserve: refuse without counting while locked or when the window's
# budget (ARGV[7], -1 for none) is spent; otherwise count the attempt before it is made.
# Returns {allowed 1/0, count, locked_until or ""}.
RESERVE_SCRIPT = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local lock_from, base, longest = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local budget = tonumber(ARGV[7])
local fields = redis.call('HMGET', KEYS[1], 'c', 's', 'l')
local count, started, locked = tonumber(fields[1]) or 0, tonumber(fields[2]) or now, fields[3]
if window >= 0 and now - started > window then
  count, started, locked = 0, now, nil
  redis.call('HDEL', KEYS[1], 'l')
end
if (locked and tonumber(locked) > now) or (budget >= 0 and count >= budget) then
  return {0, count, locked or ''}
end
count = count + 1
if lock_from >= 0 and count >= lock_from then
  locked = tostring(now + math.min(base * 2 ^ math.min(count - lock_from, 32), longest))
end
redis.call('HSET', KEYS[1], 'c', count, 's', tostring(started))
if locked then redis.call('HSET', KEYS[1], 'l', locked) end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {1, count, locked or ''}
"""
# Give back one reserved attempt (a success that the budget counts no failure for).
RELEASE_SCRIPT = """
local count = tonumber(redis.call('HGET', KEYS[1], 'c') or '0')
if count > 0 then redis.call('HINCRBY', KEYS[1], 'c', -1) end
return 0
"""
# A counter nobody touched for this long is forgotten (bounded memory however many
# usernames an attacker sprays); windows and locks are far shorter.
IDLE_EXPIRY = timedelta(days=30)


def _epoch(moment: datetime) -> str:
    return repr(moment.timestamp())


def _moment(value: Any) -> datetime | None:
    if value in (None, b"", ""):
        return None
    return datetime.fromtimestamp(float(value), tz=UTC)


class RedisStore:
    """One hash per key (`c` count, `s` window start, `l` locked until, epoch seconds)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self._hit = self.redis.register_script(HIT_SCRIPT)
        self._reserve = self.redis.register_script(RESERVE_SCRIPT)
        self._release = self.redis.register_script(RELEASE_SCRIPT)

    def read_many(self, keys: dict[str, timedelta | None], now: datetime
                  ) -> dict[str, State]:
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self.prefix + key, "c", "s", "l")
        states = {}
        for (key, window), (count, started, locked) in zip(keys.items(), pipe.execute(),
                                                           strict=True):
            states[key] = State(0, None) if count is None else _state(
                int(count), _moment(started) or now, _moment(locked), now, window)
        return states

    def hit(self, key: str, now: datetime, window: timedelta | None, lock_from: int | None,
            lock_base: timedelta) -> State:
        count, locked = self._hit(keys=[self.prefix + key], args=[
            _epoch(now), window.total_seconds() if window else -1,
            -1 if lock_from is None else lock_from, lock_base.total_seconds(),
            MAX_LOCK.total_seconds(), int(IDLE_EXPIRY.total_seconds())])
        return State(int(count), _moment(locked))

    def reserve(self, key: str, now: datetime, window: timedelta | None,
                lock_from: int | None, lock_base: timedelta, budget: int | None
                ) -> Reservation:
        allowed, count, locked = self._reserve(keys=[self.prefix + key], args=[
            _epoch(now), window.total_seconds() if window else -1,
            -1 if lock_from is None else lock_from, lock_base.total_seconds(),
            MAX_LOCK.total_seconds(), int(IDLE_EXPIRY.total_seconds()),
            -1 if budget is None else budget])
        return Reservation(bool(allowed), State(int(count), _moment(locked)))

    def release(self, key: str) -> None:
        self._release(keys=[self.prefix + key])

    def clear(self, key: str) -> None:
        self.redis.delete(self.prefix + key)

    def clear_all(self, keys: list[str], prefix: str) -> list[str]:
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix + prefix) + "*"
        candidates = [self.prefix + key for key in keys] + [
            name.decode() if isinstance(name, bytes) else str(name)
            for name in self.redis.scan_iter(match=pattern)]
        found = [name for name in dict.fromkeys(candidates) if self.redis.delete(name)]
        return [name.removeprefix(self.prefix) for name in found]


def redis_prefix(db: dict[str, Any] | None = None) -> str:
    """This installation's keys, named after its database (`loginguard:<host>:<port>/<name>
    :throttle:`): installations sharing one Redis (staging beside production, every CI run
    with its own test database) never share counters."""
    db = db if db is not None else settings.DATABASES["default"]
    return f"loginguard:{db.get('HOST') or ''}:{db.get('PORT') or ''}/{db['NAME']}:throttle:"


@cache
def store() -> Store:
    """Redis when `REDIS_URL` is set, else the database; chosen once per process."""
    if settings.REDIS_URL:
        return RedisStore(settings.REDIS_URL, prefix=redis_prefix())
    return DatabaseStore()


def read_many(keys: dict[str, timedelta | None]) -> dict[str, State]:
    """Several counters in one round trip (the sign-in path reads two on every attempt)."""
    return store().read_many(keys, clock.now())


def clear_all(keys: list[str], prefix: str) -> list[str]:
    """Forget these counters and every one whose key starts with ``prefix``; the keys of
    those there were."""
    return store().clear_all(keys, prefix)


def read(key: str, window: timedelta | None = None) -> State:
    return read_many({key: window})[key]


def hit(key: str, *, window: timedelta | None = None, lock_from: int | None = None,
        lock_base: timedelta = LOCK_BASE) -> State:
    """Add one. With ``window`` the count restarts when the window has passed; with
    ``lock_from`` the n-th hit and each after it lock for base × 2^(n - lock_from),
    capped at one hour."""
    return store().hit(key, clock.now(), window, lock_from, lock_base)


def batch() -> Any:
    """One transaction around several counter updates on the database store (nothing on
    Redis, whose every update is atomic on its own)."""
    return transaction.atomic() if isinstance(store(), DatabaseStore) else nullcontext()


def reserve(key: str, *, window: timedelta | None = None, lock_from: int | None = None,
            lock_base: timedelta = LOCK_BASE, budget: int | None = None
            ) -> Reservation:
    """Count an attempt *before* it is made, in one atomic step, or refuse it: while the
    key is locked, or once ``budget`` attempts were counted in the window. Concurrent
    requests can never all pass a check and then all count: the check and the count are
    one step (the review saw 6–11 hashes against a limit of 5 with check-then-count)."""
    return store().reserve(key, clock.now(), window, lock_from, lock_base, budget)


def release(key: str) -> None:
    """Give back one reserved attempt (it succeeded, and the budget counts failures)."""
    store().release(key)


def clear(key: str) -> None:
    store().clear(key)
