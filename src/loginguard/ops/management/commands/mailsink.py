from __future__ import annotations

import mailbox
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class MaildirHandler:
    def __init__(self, path: Path) -> None:
        self.box = mailbox.Maildir(path, create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.add(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class Command(BaseCommand):
    help = (
        "Demo mode only: a local SMTP server that accepts every message and stores it in "
        "DEV_MAILBOX_DIR, where /dev/mailbox/ shows it. Never point production mail here."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, *args: Any, bind: str, port: int, **options: Any) -> None:
        import logging

        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP verb

        if not settings.DEV_MAILBOX_DIR:
            raise CommandError("Set DEV_MAILBOX_DIR to the folder the sink should write to.")
        controller = Controller(MaildirHandler(Path(settings.DEV_MAILBOX_DIR)),
                                hostname=bind, port=port)
        controller.start()
        self.stdout.write(f"demo SMTP sink on {bind}:{port}, writing to {settings.DEV_MAILBOX_DIR}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
