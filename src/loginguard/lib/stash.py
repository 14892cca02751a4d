"""What a form's POST leaves for the page it redirects to (post/redirect/get): errors, the
values to show again, a token to show once. Kept in the session for the next page view
only, so reloading that page never repeats the action and the URL in the address bar is
always one that answers GET."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

KEY = "lg_stash"


def stash(request: HttpRequest, **data: Any) -> None:
    """Leave ``data`` (JSON-serialisable) for the next page view of this browser."""
    request.session[KEY] = data


def take(request: HttpRequest) -> dict[str, Any]:
    """What the last POST left, once."""
    data = request.session.pop(KEY, None)
    return data if isinstance(data, dict) else {}
