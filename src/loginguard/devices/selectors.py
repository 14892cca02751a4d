"""Reads of trusted devices on the sign-in path."""

from __future__ import annotations

from functools import cache

from loginguard.devices.models import TrustedDevice
from loginguard.lib import rows

DEVICE = rows.Picked(TrustedDevice, "d", (
    "id", "user_id", "name", "secret_hash", "ip", "browser", "os", "created_at",
    "last_used_at", "last_code_at"))


@cache
def _sql() -> str:
    # Table and column names from the model, values only as parameters.
    return (f"SELECT {DEVICE.sql} FROM {TrustedDevice._meta.db_table} d "  # noqa: S608
            "WHERE d.user_id = %s AND d.secret_hash = %s")


def trusted_devices_by_secret(*, user_id: int, secret_hash: str) -> list[TrustedDevice]:
    """The user's trusted devices anchored to this browser secret (one indexed query)."""
    return [DEVICE.build(row) for row in rows.fetch(_sql(), [user_id, secret_hash])]
