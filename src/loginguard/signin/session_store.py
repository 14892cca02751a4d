"""Django's database sessions, without the existence probe on every new key.

Django's store asks the database whether a fresh random key exists before using it. The
INSERT that follows is guarded by the primary key, and Django's ``create()`` picks another
key when it fails (``CreateError``), so the probe only costs a query at every sign-in
stage. Everything else is Django's own store, through its public methods only (issue 12:
supported framework APIs)."""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore


class SessionStore(DbSessionStore):
    def exists(self, session_key: str) -> bool:
        # 32 random characters from 36: 165 bits. A collision is caught by the primary
        # key and retried by Django's create(), never by this probe.
        return False
