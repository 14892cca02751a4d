from __future__ import annotations

MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """A database id from untrusted input: ASCII digits only (``int("٣")`` is 3 in
    Python), no sign, within BIGINT. Anything else is None."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None
