from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.lib import clock

if TYPE_CHECKING:
    from loginguard.tenancy.models import ClientAccount, Reseller
    from loginguard.users.models import User


def record(
    *,
    event_type: EventType,
    subject: User | None = None,
    actor: User | None = None,
    account: ClientAccount | None = None,
    reseller: Reseller | None = None,
    ip: str | None = None,
    user_agent: str = "",
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row. Call it inside the transaction that makes the change, so the
    change and its record commit or roll back together (SPEC §9). ``subject.account``
    should be loaded (select_related) by the caller."""
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
    return AuditEvent.objects.create(
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


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
