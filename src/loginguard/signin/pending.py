"""The pending login: the only thing a session holds between the password step and
sign-in (SPEC §2 step 4). Ids and timestamps, never the password or a model object."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from loginguard.devices.fingerprint import Fingerprint, same_device
from loginguard.factors.registry import EMAIL
from loginguard.lib import clock

SESSION_KEY = "lg_pending"
LIFETIME = timedelta(minutes=10)

STAGE_CODE = "code"
STAGE_TRUST = "trust"


@dataclass
class PendingLogin:
    user_id: int
    challenge: str
    started_at: str
    fingerprint: dict[str, str]
    stage: str = STAGE_CODE
    # Set when the code was needed only because a trusted device's code was stale.
    device_id: int | None = None
    # The user's session auth hash at the password step (Django's HMAC of the password
    # hash): a password change or reset since then ends this pending login.
    auth_hash: str = ""
    # The second step (factors.registry keys, strongest first): what it accepts, what it
    # asks for now, and whether an emailed code went out for it.
    methods: list[str] = field(default_factory=lambda: [EMAIL])
    method: str = EMAIL
    code_sent: bool = False
    # Set once the second step passed: how (a factors.proofs.Proof value).
    proof: str = ""
    # The level the user must reach before going on once signed in ("" none).
    enroll: str = ""

    @classmethod
    def begin(cls, *, user_id: int, fp: Fingerprint, device_id: int | None,
              auth_hash: str, methods: tuple[str, ...], enroll: str) -> PendingLogin:
        return cls(user_id=user_id, challenge=secrets.token_urlsafe(24),
                   started_at=clock.now().isoformat(), fingerprint=fp.as_dict(),
                   device_id=device_id, auth_hash=auth_hash, methods=list(methods),
                   method=methods[0] if methods else "", enroll=enroll)

    def started_on(self, policy: str, current: Fingerprint) -> bool:
        """The browser is the one that passed the password step: same browser and OS
        families, and an IP that matches under the account's policy (SPEC §2.4's rule,
        applied to the pending login)."""
        started = Fingerprint.from_dict(self.fingerprint)
        return started is not None and same_device(policy, started, current)

    def password_unchanged(self, auth_hash: str) -> bool:
        return hmac.compare_digest(self.auth_hash, auth_hash)

    @property
    def expired(self) -> bool:
        return clock.now() - datetime.fromisoformat(self.started_at) > LIFETIME

    def save(self, session: SessionBase) -> None:
        session[SESSION_KEY] = asdict(self)

    @classmethod
    def load(cls, session: SessionBase) -> PendingLogin | None:
        """The session's pending login, or None when absent, malformed or expired."""
        data: Any = session.get(SESSION_KEY)
        if not isinstance(data, dict):
            return None
        try:
            pending = cls(**data)
        except TypeError:
            return None
        if pending.expired:
            session.pop(SESSION_KEY, None)
            return None
        return pending

    @staticmethod
    def clear(session: SessionBase) -> None:
        session.pop(SESSION_KEY, None)
