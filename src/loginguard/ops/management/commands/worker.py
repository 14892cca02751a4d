from __future__ import annotations

import logging
import os
import time
from argparse import ArgumentParser
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from loginguard.lib.metrics import clean_directory
from loginguard.ops import beats, wakeup
from loginguard.ops.housekeeping import start_periodic

logger = logging.getLogger("loginguard.worker")


class QuietRepeats(logging.Filter):
    """django-tasks-db logs 'Starting worker' and 'No more tasks' each time a batch starts
    and ends; a waking worker runs a batch per wake-up, so only the first start is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.started = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("No more tasks to run"):
            return False
        if message.startswith("Starting worker"):
            if self.started:
                return False
            self.started = True
        return True


class WakingWorker(Worker):
    """django-tasks-db's worker, run as batches: drain what is ready, then wait on the
    database's own signal (ops/wakeup.py) instead of sleeping a fixed interval. The
    claiming, running and recording of each task are the library's."""

    def __init__(self, *, wake: wakeup.Wakeup, keep_running: bool, longest_wait: float,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wake = wake
        self.keep_running = keep_running
        self.longest_wait = longest_wait
        self.tasks_run = 0

    def run_task(self, db_task_result: DBTaskResult) -> None:
        try:
            super().run_task(db_task_result)
        finally:
            self.tasks_run += 1

    def run(self) -> None:
        while True:
            try:
                super().run()  # batch mode: returns once nothing is ready
                self.startup_delay = False
                done = self.max_tasks is not None and self.tasks_run >= self.max_tasks
                if not (self.keep_running and self.running) or done:
                    return
                self.wake.wait(wakeup.seconds_until_next_scheduled(self.longest_wait))
            except DatabaseError as exc:
                if not self.keep_running:
                    raise
                # The database is away (a restart, a failover): keep the process and try
                # again shortly; the task rows wait in the database.
                logger.warning("queue unavailable (%s: %s); retrying in 1 s",
                               type(exc).__name__, exc)
                self.wake.close()
                time.sleep(1.0)


class Command(DbWorkerCommand):
    help = (
        "Run the background worker: delivers queued email (and any other queued task) "
        "through SMTP, retrying failures with backoff, and does the housekeeping (see "
        "`loginguard housekeeping`). Run one or more next to the web server; they share "
        "the database queue, so each message is sent by exactly one. An idle worker "
        "waits on the database (PostgreSQL LISTEN/NOTIFY, SQLite's data version) and "
        "starts on new work at once; --interval is the longest it goes without asking "
        "the queue anyway."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # Every queue by default and no autoreload: this is the production worker.
        parser.set_defaults(queue_name="*", reload=False, interval=10)
        parser.add_argument("--no-housekeeping", action="store_true",
                            help="Leave housekeeping to other workers (or to `loginguard "
                                 "housekeeping` from cron).")

    def handle(self, *args: Any, **options: Any) -> None:
        no_housekeeping = bool(options.pop("no_housekeeping", False))
        excluded = options["exclude_queues"]
        if excluded and "*" not in options["queue_name"].split(","):
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        metrics_directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_directory:  # metrics on: forget the files of processes long gone

            clean_directory(Path(metrics_directory))
        minutes = settings.HOUSEKEEPING_INTERVAL_MINUTES
        if minutes and not no_housekeeping and not options.get("batch"):
            start_periodic(timedelta(minutes=minutes))
        if options.get("reload"):  # development only: the library's own polling loop
            super().handle(*args, **options)
            return
        self.configure_logging(options["verbosity"])
        logging.getLogger("django_tasks_db").addFilter(QuietRepeats())
        worker = WakingWorker(
            wake=wakeup.for_database(), keep_running=not options["batch"],
            queue_names=options["queue_name"].split(","), longest_wait=options["interval"],
            # The library sleeps this long only when SQLite reports the queue locked.
            interval=min(options["interval"], 1.0),
            batch=True, backend_name=options["backend_name"],
            startup_delay=options["startup_delay"], max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded.split(",") if excluded else [],
        )
        worker.configure_signals()
        beats.start(worker.worker_id)
        try:
            worker.run()
        finally:
            worker.wake.close()
            beats.stop(worker.worker_id)
