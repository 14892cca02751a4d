"""The security log's one writer (SPEC §9: every security event writes an audit row in
the same transaction as the change)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from django.db import transaction

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.lib import clock, metrics

if TYPE_CHECKING:
    from loginguard.tenancy.models import ClientAccount, Reseller
    from loginguard.users.models import User


audit_logger = logging.getLogger("loginguard.audit")
LOG_WITHHELD = {"username", "username_key"}


class Where(Protocol):
    """Where a request came from, as the audit row keeps it (devices.RequestInfo is one)."""

    @property
    def ip(self) -> str: ...

    @property
    def user_agent(self) -> str: ...


def audit_log(
    *,
    event_type: EventType,
    subject: User | None = None,
    actor: User | None = None,
    account: ClientAccount | None = None,
    reseller: Reseller | None = None,
    info: Where | None = None,
    ip: str | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row. Call it inside the transaction that makes the change, so the
    change and its record commit or roll back together (SPEC §9). ``info``: the request's
    IP and User-Agent (``ip`` alone where only an address is known). ``subject.account``
    should be loaded (select_related) by the caller."""
    user_agent = info.user_agent if info is not None else ""
    ip = info.ip if info is not None else ip
    account_id = account.pk if account is not None else None
    reseller_id = reseller.pk if reseller is not None else None
    if subject is not None:
        # Ids, not objects: recording must not cost a query per relation.
        account_id = account_id or subject.account_id
        subject_account = subject.account if subject.account_id is not None else None
        reseller_id = reseller_id or subject.reseller_id or (
            subject_account.reseller_id if subject_account is not None else None)
    if account_id is not None and reseller_id is None and account is not None:
        reseller_id = account.reseller_id
    # Request data can carry NUL bytes, which PostgreSQL text and jsonb reject.
    event = AuditEvent.objects.create(
            event_type=event_type,
            subject=subject,
            actor=actor,
            account_id=account_id,
            reseller_id=reseller_id,
            ip=ip or None,
            user_agent=user_agent[:512].replace("\x00", ""),
            extra=_clean(extra or {}),
            created_at=clock.now(),
        )
    # The log gets the event once it is true: after the commit, never for a change that
    # rolled back. The row's fields only: audit rows never hold a secret (no code, token,
    # password or link), so neither does this line.
    transaction.on_commit(lambda: _log(event))
    return event


def _log(event: AuditEvent) -> None:
    metrics.audit_event(str(event.event_type), event.extra)
    fields = {"event": str(event.event_type), "subject_id": event.subject_id,
              "actor_id": event.actor_id, "account_id": event.account_id,
              "reseller_id": event.reseller_id, "client_ip": event.ip}
    details = " ".join(f"{key}={value}" for key, value in fields.items()
                       if value is not None and key != "event")
    # A failed sign-in's typed username stays in the audit row only: people type their
    # password into the username field, and logs travel further than the database.
    shown = {k: v for k, v in event.extra.items() if k not in LOG_WITHHELD}
    audit_logger.info("%s %s", event.event_type, details,
                      extra={**fields, "details": json.dumps(shown, sort_keys=True)})


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
