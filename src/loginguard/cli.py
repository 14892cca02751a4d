"""The `loginguard` command: Django's manage.py with the settings preset."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loginguard.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A bad environment variable: one clear line, not a traceback.
        sys.stderr.write(f"loginguard: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
