"""Workers' signs of life. Each worker process writes its beat (ops.WorkerBeat) every
``BEAT_SECONDS``; a worker whose beat is older than ``STALE_AFTER`` has stopped (SIGKILL,
out of memory, its machine gone), and the emails it had claimed are queued again by the
next beat of any other worker — seconds after the loss instead of STUCK_AFTER's ten
minutes. So are the task rows it had taken from the queue and not finished ("running"
forever otherwise: the queue library has no such rescue), which matters when it died
between taking a task and claiming its email or logout row: that row stays "queued" with
no task left to send it. A claim by a live worker is never touched: its send may be slow,
not lost."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from django.db import DatabaseError, connection

from loginguard.emails.tasks import requeue_stuck
from loginguard.lib import clock
from loginguard.ops.models import WorkerBeat

logger = logging.getLogger("loginguard.worker")

BEAT_SECONDS = 5.0
# Longer than a PostgreSQL restart or failover of ~20 s plus a beat, so a worker that only
# lost its database for a while is not taken for dead.
STALE_AFTER = timedelta(seconds=30)
FORGET_AFTER = timedelta(days=1)  # housekeeping deletes beats older than this


def beat(worker_id: str, started_at: datetime, now: datetime | None = None) -> None:
    WorkerBeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"beat_at": now or clock.now(), "host": socket.gethostname()[:255],
                  "pid": os.getpid(), "started_at": started_at})


def live_workers(now: datetime) -> set[str]:
    return set(WorkerBeat.objects.filter(beat_at__gte=now - STALE_AFTER)
               .values_list("worker_id", flat=True))


def release_tasks(live: set[str]) -> int:
    """Put back in the queue every task row a worker that stopped beating had taken and
    not finished; how many. Such a task runs again, which is safe: an email or logout
    row is claimed with a conditional update before it is sent, so it goes out once per
    claim (a rescued claim is requeue_stuck's); at worst a forgot-password dispatch cut
    off after queueing its email queues a second copy."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    released = 0
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    for pk, worker_ids, started_at in running.values_list("pk", "worker_ids", "started_at"):
        if not worker_ids or worker_ids[-1] in live:
            continue  # a live worker's, or nobody's to judge
        # Conditional on the claim it saw: a row finished or taken again meanwhile stays.
        if running.filter(pk=pk, started_at=started_at).update(
                status=TaskResultStatus.READY, started_at=None):
            logger.warning("task %s was left running by a worker that stopped (%s); "
                           "queued again", pk, worker_ids[-1])
            released += 1
    return released


def rescue(now: datetime | None = None) -> int:
    """Queue again every email claimed, and every task taken, by a worker that stopped
    beating; how many. (Beats of workers gone for a day are housekeeping's: its
    `worker_beats` sweep.)"""
    now = now or clock.now()
    live = live_workers(now)
    return release_tasks(live) + requeue_stuck(now, live)


def stop(worker_id: str) -> None:
    """A worker leaving cleanly removes its beat (it holds no claims by then)."""
    with contextlib.suppress(DatabaseError):  # else the beat goes stale on its own
        WorkerBeat.objects.filter(worker_id=worker_id).delete()


def start(worker_id: str, every: float = BEAT_SECONDS) -> threading.Thread:
    """Beat once now (so this worker's first claim is already covered), then from a
    thread every ``every`` seconds, rescuing dead workers' emails after each beat. A
    database outage is logged and ridden out."""
    started_at = clock.now()
    try:
        beat(worker_id, started_at)
    except DatabaseError as exc:
        logger.warning("worker beat skipped: database unavailable (%s)", type(exc).__name__)

    def loop() -> None:
        while True:
            time.sleep(every)
            try:
                beat(worker_id, started_at)
                rescue()
            except DatabaseError as exc:
                logger.warning("worker beat skipped: database unavailable (%s)",
                               type(exc).__name__)
                connection.close()  # this thread's connection: a new one next time

    thread = threading.Thread(target=loop, name="beats", daemon=True)
    thread.start()
    return thread
