from __future__ import annotations

from argparse import ArgumentParser

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = (
        "Run the background worker: delivers queued email (and any other queued task) "
        "through SMTP, retrying failures with backoff. Run one or more next to the web "
        "server; they share the database queue, so each message is sent by exactly one."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # Every queue by default and no autoreload: this is the production worker.
        parser.set_defaults(queue_name="*", reload=False)
