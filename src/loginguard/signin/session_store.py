"""Django's database sessions, writing each session row once per change instead of up to
three times per sign-in.

Django's store, on a sign-in, asks whether a random key exists, INSERTs an empty row for
the new key, SELECTs and DELETEs the old row, then UPDATEs the new row with its data when
the response goes out: five statements in two transactions. Here the new key's row is
written once, with its data, by the next ``save()``; a ``save()`` with nothing changed since
the last write is skipped; the old row goes in one DELETE.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.utils.crypto import get_random_string


class SessionStore(DbSessionStore):
    _unsaved = False  # a key was chosen and its row is not written yet
    _written: bytes | None = None  # the data the last write stored

    def _get_new_session_key(self) -> str:
        # Django first asks the database whether a fresh random key exists. The INSERT is
        # guarded by the primary key and save() picks another key on CreateError, so the
        # probe only costs a query. 32 characters from 36 give 165 bits.
        return get_random_string(32, VALID_KEY_CHARS)

    def create(self) -> None:
        self._session_key = self._get_new_session_key()
        self._unsaved, self._written, self.modified = True, None, True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
        data = self._get_session(no_load=must_create or self._unsaved)  # type: ignore[attr-defined]
        # The data carries any custom expiry; the default one moves with the clock and a
        # row written moments ago is not worth rewriting for it.
        snapshot = self.serializer().dumps(data)
        if snapshot == self._written and not must_create:
            return  # this exact state is already stored
        while True:
            try:
                super().save(must_create=must_create or self._unsaved)
            except CreateError:
                if not self._unsaved:
                    raise
                self._session_key = self._get_new_session_key()  # taken: pick another
                continue
            self._unsaved, self._written = False, snapshot
            return

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=session_key).delete()
        if session_key == self.session_key:
            self._written = None
