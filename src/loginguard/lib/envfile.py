"""``LOGINGUARD_ENV_FILE``: the settings file the CLI reads itself, the same file systemd's
``EnvironmentFile=`` reads for the services (docs/operations.md, "Settings for the CLI").

The format is systemd's, in its plain form: one ``KEY=value`` per line; blank lines and
lines starting with ``#`` are skipped; a value may be wrapped in single or double quotes
(which are removed); nothing is expanded and no shell runs it, so
``DEFAULT_FROM_EMAIL=loginguard <no-reply@example.com>`` needs no quoting. The process's
own environment wins over the file (``LOG_LEVEL=DEBUG loginguard …`` for one run). A
file that cannot be read or a line that is not ``KEY=value`` stops the command with the
file and line number, never a silent default."""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path

VARIABLE = "LOGINGUARD_ENV_FILE"
_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


class EnvFileError(Exception):
    pass


def parse(text: str, source: str = "the env file") -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise EnvFileError(f"{source}, line {number}: not KEY=value: {raw[:60]!r}")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Read the file ``LOGINGUARD_ENV_FILE`` names into ``environ`` (the process's own
    values win); the file, or None when the variable is unset."""
    environ = os.environ if environ is None else environ
    name = environ.get(VARIABLE, "").strip()
    if not name:
        return None
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"{VARIABLE}={name}: cannot read it ({exc.__class__.__name__}: "
                           f"{exc}).") from None
    for key, value in parse(text, str(path)).items():
        environ.setdefault(key, value)
    return path
