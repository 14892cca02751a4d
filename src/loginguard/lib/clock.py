"""The one clock loginguard reads.

Everything time-based (code expiry, unlock windows, the 30-day trust rule, session
timeouts, throttles) calls ``now()`` so tests can move time forward without sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

_offset = timedelta(0)


def now() -> datetime:
    return timezone.now() + _offset


def advance(delta: timedelta) -> None:
    """Test helper: move the clock forward (or back) for the whole process."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
