"""The `loginguard` command: Django's manage.py with the settings preset."""

from __future__ import annotations

import os
import secrets
import sys
from importlib.metadata import PackageNotFoundError, version

from loginguard.lib import envfile

HELP_ARGS = {"help", "--help", "-h"}


def loginguard_version() -> str:
    try:
        return version("loginguard")
    except PackageNotFoundError:  # a source tree without the package installed
        return "unknown"


def overview() -> str:
    """``loginguard --help``: loginguard's own commands first, each with what it does."""
    import textwrap

    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    ours, django_commands = [], []
    for name, app in sorted(get_commands().items()):
        if app.startswith("loginguard."):
            first = load_command_class(app, name).help.split(". ")[0].rstrip(".")
            ours.append(textwrap.fill(first + ".", 88, initial_indent=f"  {name:<18}",
                                      subsequent_indent=" " * 20))
        else:
            django_commands.append(name)
    return "\n".join([
        "Usage: loginguard COMMAND [options]    (loginguard COMMAND --help for its options)",
        "", "loginguard's commands:", *ours, "",
        "Django's commands, for the operator (migrate, check --deploy, shell, dbshell, ...):",
        textwrap.fill(", ".join(django_commands), 88, initial_indent="  ",
                      subsequent_indent="  "),
        "", "Settings come from the environment, or from the file LOGINGUARD_ENV_FILE (or "
        "--env-file PATH before the command) names: KEY=value lines, as systemd's "
        "EnvironmentFile= reads them. See docs/operations.md.", ""])


def main() -> None:
    argv = sys.argv
    # --env-file PATH before the command is the same as LOGINGUARD_ENV_FILE=PATH.
    if len(argv) > 2 and argv[1] == "--env-file":
        os.environ[envfile.VARIABLE] = argv[2]
        argv = sys.argv = [argv[0], *argv[3:]]
    elif len(argv) > 1 and argv[1].startswith("--env-file="):
        os.environ[envfile.VARIABLE] = argv[1].split("=", 1)[1]
        argv = sys.argv = [argv[0], *argv[2:]]
    try:
        envfile.load()
    except envfile.EnvFileError as exc:
        sys.stderr.write(f"loginguard: configuration error: {exc}\n")
        sys.exit(2)
    if argv[1:] == ["--version"]:
        import django

        sys.stdout.write(f"loginguard {loginguard_version()} (Django {django.get_version()})\n")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loginguard.settings")
    # Only when help is all that will run: `loginguard [help|--help]`, `loginguard help
    # COMMAND`, `loginguard COMMAND ... --help` (Django prints it and stops).
    if len(argv) < 2 or argv[1] in HELP_ARGS or argv[-1] in ("-h", "--help"):
        # Help reads no secret: without a throwaway key, production settings would refuse
        # to load and Django would list only its own commands.
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.conf import settings
        from django.core.management import execute_from_command_line

        # Load the settings here, so a bad environment stops every command with one
        # line (Django would run its own commands without them, and say little).
        settings.INSTALLED_APPS  # noqa: B018
        if len(argv) < 2 or argv[1:] in (["help"], ["--help"], ["-h"]):
            sys.stdout.write(overview())
            return
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        # A bad environment variable: one clear line, not a traceback.
        sys.stderr.write(f"loginguard: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
