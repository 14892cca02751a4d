from __future__ import annotations

import os
from argparse import ArgumentParser
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = (
        "Run the background worker: delivers queued email (and any other queued task) "
        "through SMTP, retrying failures with backoff, and does the housekeeping (see "
        "`loginguard housekeeping`). Run one or more next to the web server; they share "
        "the database queue, so each message is sent by exactly one."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # Every queue by default and no autoreload: this is the production worker.
        parser.set_defaults(queue_name="*", reload=False)
        parser.add_argument("--no-housekeeping", action="store_true",
                            help="Leave housekeeping to other workers (or to `loginguard "
                                 "housekeeping` from cron).")

    def handle(self, *args: Any, **options: Any) -> None:
        no_housekeeping = bool(options.pop("no_housekeeping", False))
        metrics_directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_directory:  # metrics on: forget the files of processes long gone
            from loginguard.lib.metrics import clean_directory

            clean_directory(Path(metrics_directory))
        minutes = settings.HOUSEKEEPING_INTERVAL_MINUTES
        if minutes and not no_housekeeping and not options.get("batch"):
            from loginguard.ops.housekeeping import start_periodic

            start_periodic(timedelta(minutes=minutes))
        super().handle(*args, **options)
