"""Logging filters the settings attach (supported `logging` configuration, no patching)."""

from __future__ import annotations

import logging

from loginguard.web.middleware import API_PREFIX

FORWARD_PATH = "/auth/forward"


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
