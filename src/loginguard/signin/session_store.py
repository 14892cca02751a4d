"""Django's database sessions, minus one query per new session key."""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.utils.crypto import get_random_string


class SessionStore(DbSessionStore):
    def _get_new_session_key(self) -> str:
        # Django first asks the database whether a fresh random key exists. The INSERT
        # that follows (save(must_create=True)) is guarded by the primary key and create()
        # retries on CreateError, so the probe only costs a query on every sign-in.
        # 32 characters from 36 give 165 bits: a collision is not a practical concern.
        return get_random_string(32, VALID_KEY_CHARS)
