"""Logging filters and the JSON formatter the settings attach (supported `logging`
configuration, no patching)."""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from loginguard.lib.paths import API_PREFIX, FORWARD_PATH


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: Django's dictConfig, plus Python's warnings (a missing
    static directory, a deprecation) through the same handler, so that under
    LOG_FORMAT=json they are JSON lines too, not bare text on stderr."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


class DropApiRefusals(logging.Filter):
    """Django logs every 4xx response as a warning (`django.request`). A refused API token
    is not worth a line: a scan of garbage tokens would flood the log. Neither is forward
    auth's 401 or 403, the answer a proxy gets for every anonymous visit to an app it
    guards. The access log still shows each one."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", "")
        status = getattr(record, "status_code", None)
        if not isinstance(path, str):
            return True
        return not ((status == 401 and path.startswith(API_PREFIX))
                    or (status in (401, 403) and path == FORWARD_PATH))


class DropOutageRepeats(logging.Filter):
    """A 503 means the database or Redis is away: web.health logs one line naming the part
    for each. Django would add its own ERROR with the whole traceback of the connection
    error for every such request (three tracebacks a request, thousands a minute while
    PostgreSQL restarts; the fault suite counted them), and one per /readyz probe."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 503


# The attributes every LogRecord has; anything else on a record came from ``extra=`` and
# is a field of the JSON line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_DROPPED = {"request", "server_time"}  # Django's own extras: objects, not fields


class JsonFormatter(logging.Formatter):
    """``LOG_FORMAT=json``: one JSON object per line, with the time (UTC, ISO 8601), level,
    logger, message and the fields the caller passed in ``extra`` (the access log's
    method, path, status...); a traceback as one escaped string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name,
            "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _DROPPED and not key.startswith("_"):
                line[key] = value if isinstance(value, str | int | float | bool | None) \
                    else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class DropExplainedServerNotices(logging.Filter):
    """granian's warning about ``net.ipv4.tcp_migrate_req``: `loginguard serve` logs what
    it means and what to do instead (a warning at every start read as an error)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "tcp_migrate_req" not in record.getMessage()
