from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from loginguard.ops import housekeeping


class Command(BaseCommand):
    help = (
        "Delete what nobody needs any more: expired sessions and codes, lapsed email "
        "changes, idle throttle counters, finished queue entries, the bodies of sent "
        "emails, and security log rows older than AUDIT_RETENTION_DAYS. The workers do "
        "this by themselves every HOUSEKEEPING_INTERVAL_MINUTES; --dry-run only counts."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Show how many rows each step would delete; change nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        counts = housekeeping.preview() if dry_run else housekeeping.run()
        verbs = {"delete": ("would delete", "deleted"), "clear": ("would clear", "cleared"),
                 "requeue": ("would queue again", "queued again")}
        rows = [(sweep.name, verbs["clear" if sweep.clear_bodies else "delete"][not dry_run],
                 counts[sweep.name], sweep.what) for sweep in housekeeping.SWEEPS]
        rows.append(("stuck_emails_requeued", verbs["requeue"][not dry_run],
                     counts["stuck_emails_requeued"],
                     "emails a stopped worker left half-sent 10 minutes ago"))
        name_width = max(len(row[0]) for row in rows)
        verb_width = max(len(row[1]) for row in rows)
        for name, action, count, what in rows:
            self.stdout.write(f"{name:<{name_width}}  {action:<{verb_width}} {count:>7}  "
                              f"({what})")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
