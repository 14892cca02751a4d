from __future__ import annotations

import logging
import os
import re
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loginguard.lib.metrics import clean_directory

logger = logging.getLogger("loginguard.serve")
RECYCLE_HOURS = 6
KILL_AFTER_SECONDS = 20
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
        # One log, one format: the server's own lines go through loginguard's handler and
        # formatter (LOG_FORMAT: text, or one JSON object per line), on stderr like every
        # other log line; stdout stays for command output.
        logger.info("loginguard serving on http://%s with %d worker(s)", bind, workers)
        if workers > 1 and not _tcp_migrate_req():
            logger.info("Worker processes are replaced every %d hours (a slow leak cannot "
                        "grow). Set `sysctl net.ipv4.tcp_migrate_req=1` (Linux 5.14+) so no "
                        "connection waiting in the queue is reset then "
                        "(docs/operations.md, The web server).", RECYCLE_HOURS)
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
            workers_lifetime=RECYCLE_HOURS * 3600,
            # A stop (SIGTERM, a recycle) waits for requests in flight, but not for ever:
            # a worker that has not stopped after this many seconds is killed, so a stop
            # is bounded (systemd's own limit is 90 s) even on a loaded machine.
            workers_kill_timeout=KILL_AFTER_SECONDS,
            log_dictconfig=server_logging(),
        ).serve()


def _tcp_migrate_req() -> bool:
    try:
        return Path("/proc/sys/net/ipv4/tcp_migrate_req").read_text().strip() == "1"
    except OSError:
        return False


def server_logging() -> dict[str, Any]:
    """granian's loggers through loginguard's formatter and handler (its default prints
    its own format to stdout), without its sysctl warning, which ``handle`` explains."""
    from django.conf import settings

    return {
        "formatters": settings.LOGGING["formatters"],
        "filters": {"explained": {"()": "loginguard.web.logs.DropExplainedServerNotices"}},
        "handlers": {"console": {"class": "logging.StreamHandler",
                                 "formatter": settings.LOG_FORMAT,
                                 "filters": ["explained"]}},
        # The workers apply this after Django's own setup: the root logger keeps a
        # handler, so what reaches it (Python warnings included) is formatted too.
        "root": {"handlers": ["console"], "level": settings.LOG_LEVEL},
        "loggers": {"_granian": {"handlers": ["console"], "level": "INFO",
                                 "propagate": False},
                    "granian.access": {"handlers": ["console"], "level": "WARNING",
                                       "propagate": False}},
    }
