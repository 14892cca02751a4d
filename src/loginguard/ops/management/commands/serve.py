from __future__ import annotations

import re
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

BIND_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


def parse_bind(value: str) -> str:
    match = BIND_RE.match(value)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise CommandError(f"--bind {value!r}: use HOST:PORT, for example 0.0.0.0:8000.")
    return value


class Command(BaseCommand):
    help = (
        "Run the production HTTP server (gunicorn, sync workers) for loginguard. "
        "Put a TLS-terminating proxy in front of it and list it in TRUSTED_PROXIES."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000",
                            help="HOST:PORT to listen on (default: %(default)s).")
        parser.add_argument("--workers", type=int, default=2,
                            help="Number of worker processes (default: %(default)s; about "
                                 "one per core, since sign-in is CPU-bound on Argon2).")

    def handle(self, *args: Any, bind: str, workers: int, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        from loginguard.wsgi import application

        if not 1 <= workers <= 64:
            raise CommandError("--workers must be between 1 and 64.")
        config = {
            "bind": parse_bind(bind),
            "workers": workers,
            "worker_class": "sync",
            "accesslog": "-",
            "timeout": 30,
            "graceful_timeout": 10,
            # Recycle workers now and then: a slow leak can't grow without bound.
            "max_requests": 20000,
            "max_requests_jitter": 2000,
            # Import and warm up once in the master; workers fork ready (and share the
            # memory) instead of each paying for it on its first sign-in.
            "preload_app": True,
        }

        class LoginguardServer(BaseApplication):
            def load_config(self) -> None:
                for key, value in config.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                from loginguard.devices.fingerprint import families

                families("Mozilla/5.0 (Windows NT 10.0) Chrome/131.0")  # compile the UA regexes
                return application

        self.stdout.write(f"loginguard serving on http://{bind} with {workers} worker(s)")
        LoginguardServer().run()
