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
        verb = "would delete" if dry_run else "deleted"
        for sweep in housekeeping.SWEEPS:
            action = verb.replace("delete", "clear") if sweep.clear_bodies else verb
            self.stdout.write(f"{sweep.name:<18} {action} {counts[sweep.name]:>7}  "
                              f"({sweep.what})")
        requeue = "would queue again" if dry_run else "queued again"
        self.stdout.write(f"{'stuck_emails':<18} {requeue} {counts['stuck_emails_requeued']:>4}"
                          "  (emails a stopped worker left half-sent 10 minutes ago)")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
