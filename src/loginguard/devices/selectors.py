"""Reads of trusted devices on the sign-in path."""

from __future__ import annotations

from functools import cache

from loginguard.devices.models import TrustedDevice
from loginguard.lib import rows


@cache
def _sql() -> str:
    # Table and column names from the model, values only as parameters.
    return (f"SELECT {rows.columns(TrustedDevice, 'd')} FROM {TrustedDevice._meta.db_table} d "  # noqa: S608
            "WHERE d.user_id = %s AND d.secret_hash = %s")


def trusted_devices_by_secret(*, user_id: int, secret_hash: str) -> list[TrustedDevice]:
    """The user's trusted devices anchored to this browser secret (one indexed query)."""
    return [rows.instance(TrustedDevice, row)
            for row in rows.fetch(_sql(), [user_id, secret_hash])]
