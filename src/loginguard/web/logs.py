"""Logging filters the settings attach (supported `logging` configuration, no patching)."""

from __future__ import annotations

import logging

from loginguard.web.middleware import API_PREFIX


class DropApiRefusals(logging.Filter):
    """Django logs every 4xx response as a warning (`django.request`). A refused API token
    is not worth a line: a scan of garbage tokens would flood the log. The access log
    still shows each 401."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", "")
        return not (getattr(record, "status_code", None) == 401
                    and isinstance(path, str) and path.startswith(API_PREFIX))
