from __future__ import annotations

import os
import re
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loginguard.lib.metrics import clean_directory

BIND_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


def parse_bind(value: str) -> tuple[str, int]:
    match = BIND_RE.match(value)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise CommandError(f"--bind {value!r}: use HOST:PORT, for example 0.0.0.0:8000.")
    return match.group(1).strip("[]"), int(match.group(2))


class Command(BaseCommand):
    help = (
        "Run the production HTTP server (granian, WSGI) for loginguard. Put a "
        "TLS-terminating proxy in front of it and list it in TRUSTED_PROXIES. "
        "docs/benchmarks.md says why granian and not gunicorn."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000",
                            help="HOST:PORT to listen on (default: %(default)s).")
        parser.add_argument("--workers", type=int, default=2,
                            help="Number of worker processes (default: %(default)s; about "
                                 "one per core, since sign-in is CPU-bound on Argon2).")

    def handle(self, *args: Any, bind: str, workers: int, **options: Any) -> None:
        from granian.constants import Interfaces
        from granian.server import Server

        if not 1 <= workers <= 64:
            raise CommandError("--workers must be between 1 and 64.")
        metrics_directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_directory:  # metrics on: forget the files of processes long gone

            clean_directory(Path(metrics_directory))
        host, port = parse_bind(bind)
        self.stdout.write(f"loginguard serving on http://{bind} with {workers} worker(s)")
        self.stdout.flush()
        Server(
            "loginguard.wsgi:application",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=workers,
            # One request at a time per process, like sync workers: sign-in is CPU-bound.
            blocking_threads=1,
            websockets=False,
            # loginguard writes its own access log (web.middleware.AccessLogMiddleware):
            # link tokens redacted, paths escaped.
            log_access=False,
            respawn_failed_workers=True,
            # Recycle workers now and then: a slow leak can't grow without bound.
            workers_lifetime=6 * 3600,
        ).serve()
