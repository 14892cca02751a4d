"""An idle worker is woken by its database, not by a once-a-second poll (issue 18 items 1
and 2; ops/wakeup.py): PostgreSQL's NOTIFY from the task table's trigger, delivered only on
commit; SQLite's PRAGMA data_version; the next retry's due time; and a real
`loginguard worker` that sends a queued email long before its --interval and keeps running
through a database outage."""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.utils import timezone

from loginguard.emails.tasks import deliver_email
from loginguard.ops import wakeup
from tests.e2e.conftest import Inbox, _database, _drop, free_port

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="LISTEN/NOTIFY is PostgreSQL's: runs in the CI's PostgreSQL run")


def commit_after(seconds: float, path: Path, table: str = "t") -> threading.Thread:
    def write() -> None:
        time.sleep(seconds)
        with sqlite3.connect(path) as other:
            other.execute(f"INSERT INTO {table} VALUES (1)")

    thread = threading.Thread(target=write)
    thread.start()
    return thread


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    folder = tmp_path / "var #1 ?50%"  # characters a file: URI must encode
    folder.mkdir()
    path = folder / "queue.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("CREATE TABLE other (x)")
    return path


def test_sqlite_wakes_on_another_connections_commit(sqlite_file: Path) -> None:
    waiter = wakeup.SqliteDataVersion(str(sqlite_file), "t", tick=0.01)
    assert waiter.wait(0.05) is False  # nothing committed: the whole timeout, then False
    commit_after(0, sqlite_file, table="other").join()
    assert waiter.wait(0.2) is False  # a commit that queued no task wakes nobody
    writer = commit_after(0.1, sqlite_file)
    start = time.monotonic()
    assert waiter.wait(30) is True
    assert time.monotonic() - start < 25  # woken by the commit, not by the timeout
    writer.join()
    assert waiter.wait(0.05) is False  # the same commit does not wake it twice
    waiter.close()


def test_sqlite_waiter_survives_a_missing_file(tmp_path: Path) -> None:
    waiter = wakeup.SqliteDataVersion(str(tmp_path / "gone.sqlite3"), "t", tick=0.01)
    assert waiter.wait(0.05) is False  # logged and slept, never raised


def test_the_waiter_matches_the_database(settings: Any) -> None:
    chosen = wakeup.for_database()
    if connection.vendor == "postgresql":
        assert isinstance(chosen, wakeup.PostgresListen)
    else:  # the test database is in memory: nothing to watch, so a plain sleep
        assert isinstance(chosen, wakeup.Sleep)


@pytest.mark.django_db
def test_the_next_retry_bounds_the_wait() -> None:
    assert wakeup.seconds_until_next_scheduled(10.0) == 10.0  # empty queue: the limit
    deliver_email.using(queue_name="email").enqueue(1)  # ready now: not "scheduled"
    assert wakeup.seconds_until_next_scheduled(10.0) == 10.0
    deliver_email.using(queue_name="email",
                        run_after=timezone.now() + timedelta(seconds=4)).enqueue(2)
    assert 2.0 < wakeup.seconds_until_next_scheduled(10.0) <= 4.0
    assert wakeup.seconds_until_next_scheduled(1.0) == 1.0


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_notify_arrives_on_commit_only() -> None:
    waiter = wakeup.PostgresListen()
    try:
        assert waiter.wait(0.05) is False
        with transaction.atomic():
            deliver_email.using(queue_name="email").enqueue(1)
            assert waiter.wait(0.3) is False  # not committed: nothing to find yet
        start = time.monotonic()
        assert waiter.wait(30) is True
        assert time.monotonic() - start < 25
        with transaction.atomic():
            deliver_email.using(queue_name="email").enqueue(2)
            transaction.set_rollback(True)
        assert waiter.wait(0.3) is False  # a rolled-back enqueue wakes nobody
    finally:
        waiter.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[dict[str, str], Inbox]]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    url, name = _database(tmp_path)
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false",
           "DATABASE_URL": url, "LOGINGUARD_VAR_DIR": str(tmp_path),
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "-m", "loginguard.cli", "migrate", "-v0"], env=env,
                   check=True, timeout=120)
    try:
        yield env, inbox
    finally:
        smtp.stop()
        _drop(name)


QUEUE = """
from django.db import transaction
from loginguard.emails.kinds import send_password_changed
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User
account, _ = ClientAccount.objects.get_or_create(name="Wake")
user = User.objects.create(username={to!r}, username_key={to!r}, email={to!r},
                           kind="client", account=account)
with transaction.atomic():
    send_password_changed(user=user, ip="127.0.0.1", how="changed")
"""


def queue_one(env: dict[str, str], to: str) -> None:
    subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-v0", "-c",
                    QUEUE.format(to=to)], env=env, check=True, timeout=60)


def wait_for_message(inbox: Inbox, count: int, within: float) -> float:
    start = time.monotonic()
    while len(inbox.messages) < count:
        if time.monotonic() - start > within:
            raise AssertionError(f"{len(inbox.messages)}/{count} messages in {within} s")
        time.sleep(0.05)
    return time.monotonic() - start


def test_an_idle_worker_sends_new_mail_long_before_its_interval(
        stack: tuple[dict[str, str], Inbox]) -> None:
    env, inbox = stack
    worker = subprocess.Popen([sys.executable, "-m", "loginguard.cli", "worker",
                               "--interval", "120", "--no-startup-delay"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(3)  # started, found the queue empty, waiting
        for n in range(1, 3):  # twice: the second wake-up comes from the wait, too
            queue_one(env, f"ann{n}@example.test")
            # --interval is 120 s: within 60 s only a wake-up can have sent it.
            wait_for_message(inbox, n, within=60)
        assert worker.poll() is None
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=20)
    assert b"Traceback" not in err


@needs_postgres
def test_the_worker_rides_out_a_database_outage(
        stack: tuple[dict[str, str], Inbox]) -> None:
    from tests.ops.tcpswitch import TcpSwitch

    env, inbox = stack
    parts = urlsplit(env["DATABASE_URL"])
    switch = TcpSwitch((parts.hostname or "127.0.0.1", parts.port or 5432))
    worker_env = {**env, "DATABASE_URL": env["DATABASE_URL"].replace(
        f"{parts.hostname}:{parts.port}", f"127.0.0.1:{switch.port}")}
    worker = subprocess.Popen([sys.executable, "-m", "loginguard.cli", "worker",
                               "--interval", "2", "--no-startup-delay"], env=worker_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(3)
        switch.cut()
        time.sleep(5)  # several rounds of the worker finding the database gone
        assert worker.poll() is None, "the worker exited on a database outage"
        switch.restore()
        queue_one(env, "bob@example.test")  # straight to the database, not the switch
        wait_for_message(inbox, 1, within=60)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=20)
        if switch.listener is None:
            switch.restore()
    assert b"queue unavailable" in err


def test_excluding_queues_needs_every_queue_and_starts_nothing() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--exclude-queues can only be used"):
        call_command("worker", queue_name="email", exclude_queues="default")
    assert not [t for t in threading.enumerate() if t.name == "housekeeping"]
