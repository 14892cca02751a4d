"""How an idle worker learns, at once and almost for free, that there is work.

The queue stays in the database (django-tasks' ``DBTaskResult`` rows, written in the same
transaction as the change that queued them). Instead of asking the queue once a second, an
idle worker waits on the cheapest signal its database offers that something committed:

- PostgreSQL: ``LISTEN loginguard_tasks`` on a connection of its own. A trigger on the task
  table (ops migration 0002) runs ``pg_notify`` for every insert, and PostgreSQL delivers it
  only when the inserting transaction commits, so a woken worker always finds the row.
- SQLite: ``PRAGMA data_version`` on a connection of its own, read every ``tick`` seconds
  (SQLite's documented contract: the value changes when another connection commits), and
  when it changed, the task table's newest rowid: only a commit that queued a task wakes
  the worker. Both reads are cheap and take no write lock.
- Anything else: a plain sleep.

Whatever wakes it, the worker then asks the real queue (``ready()``), so a wake-up for an
unrelated commit costs one query and nothing else; a missed signal costs at most the
worker's ``--interval``, after which it asks the queue anyway. Tasks scheduled for later
(an email retry's backoff) are not signalled when they come due: the worker computes when
the next one is due and never waits past it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

CHANNEL = "loginguard_tasks"


class Wakeup(Protocol):
    def wait(self, timeout: float) -> bool:
        """Return when something may have been queued (True) or after ``timeout`` seconds
        (False)."""
        ...

    def close(self) -> None: ...


class Sleep:
    """No signal to wait on: sleep the whole timeout."""

    def wait(self, timeout: float) -> bool:
        time.sleep(max(timeout, 0.0))
        return False

    def close(self) -> None:
        pass


class SqliteDataVersion:
    """Wait for another connection to commit to the SQLite database file."""

    def __init__(self, path: str, table: str, tick: float = 0.1) -> None:
        self.path = path
        self.tick = tick
        # The newest row of the task table: every commit changes data_version, but only
        # one that queued a task changes this (SQLite gives a new row the largest rowid
        # plus one), so a commit that queued nothing costs two reads and no wake-up.
        self.newest_sql = f'SELECT max(rowid) FROM "{table}"'  # noqa: S608
        self.connection: sqlite3.Connection | None = None
        self.version: int | None = None
        self.newest: object = None

    def _read(self) -> int:
        if self.connection is None:
            # Read-only and outside any transaction: this connection never takes a lock.
            # A URI, percent-encoded: a path may hold "?", "#" or "%".
            uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
            self.connection = sqlite3.connect(uri, uri=True,
                                              isolation_level=None,
                                              check_same_thread=False)
        return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def _newest(self) -> object:
        assert self.connection is not None
        return self.connection.execute(self.newest_sql).fetchone()[0]

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            if self.version is None:
                self.version = self._read()
                self.newest = self._newest()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(self.tick, left))
                version = self._read()
                if version == self.version:
                    continue
                self.version = version
                newest = self._newest()
                if newest != self.newest:
                    self.newest = newest
                    return True
        except sqlite3.Error as exc:
            logger.warning("waiting on the SQLite file failed (%s); sleeping instead", exc)
            self.close()
            time.sleep(max(deadline - time.monotonic(), 0.0))
            return False

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None
        self.version = None
        self.newest = None


class PostgresListen:
    """Wait for a NOTIFY on ``CHANNEL`` on a dedicated connection (autocommit, as Django
    opens them). A lost connection (a PostgreSQL restart) is reopened on the next wait;
    meanwhile the worker sleeps, so it still asks the queue once an interval."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = alias
        self.wrapper: BaseDatabaseWrapper | None = None

    def _listening(self) -> psycopg.Connection[Any]:
        wrapper = self.wrapper
        if wrapper is None:
            wrapper = connections.create_connection(self.alias)
            with wrapper.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self.wrapper = wrapper
        return wrapper.connection  # the psycopg connection Django opened

    def wait(self, timeout: float) -> bool:
        import psycopg

        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            raw = self._listening()
            for _ in raw.notifies(timeout=max(timeout, 0.0), stop_after=1):
                return True
            return False
        except (DatabaseError, psycopg.Error, OSError) as exc:
            logger.warning("listening for queued tasks failed (%s); polling until the "
                           "database is back", type(exc).__name__)
            self.close()
            time.sleep(max(min(deadline - time.monotonic(), 1.0), 0.0))
            return False

    def close(self) -> None:
        if self.wrapper is not None:
            with contextlib.suppress(DatabaseError, OSError):  # already broken
                self.wrapper.close()
        self.wrapper = None


def for_database(alias: str = DEFAULT_DB_ALIAS) -> Wakeup:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        return PostgresListen(alias)
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if name and name != ":memory:" and "mode=memory" not in name:
            from django_tasks_db.models import DBTaskResult

            return SqliteDataVersion(name, DBTaskResult._meta.db_table)
    return Sleep()


def seconds_until_next_scheduled(limit: float) -> float:
    """Seconds until the earliest task queued to run later (an email retry) comes due,
    capped at ``limit``; 0 when one is already due."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    due: datetime | None = (
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__gt=now)
        .exclude(run_after=get_date_max())
        .order_by("run_after").values_list("run_after", flat=True).first()
    )
    if due is None:
        return limit
    return max(0.0, min(limit, (due - now).total_seconds()))

