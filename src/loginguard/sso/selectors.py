"""Single sign-on's reads: the claims an app gets, who a client admits, connected apps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Min

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.signin.backend import LoginguardBackend
from loginguard.sso.models import Authorization, Client
from loginguard.tenancy.models import ClientAccount, Connection
from loginguard.users.models import UserKind

if TYPE_CHECKING:
    from loginguard.users.models import User


def role(user: User) -> str:
    if user.kind == UserKind.RESELLER:
        return "reseller_user"
    return "client_admin" if user.is_client_admin else "client_user"


def account_claims(user: User) -> dict[str, Any]:
    """Scope ``account``: where the user acts (SPEC §11)."""
    claims: dict[str, Any] = {"role": role(user), "account": None, "reseller": None}
    if user.account is not None:
        account = user.account
        claims["account"] = {"id": str(account.pk), "name": account.name}
        if account.reseller is not None:
            claims["reseller"] = {"id": str(account.reseller_id),
                                  "name": account.reseller.name}
    elif user.reseller is not None:
        reseller = user.reseller
        claims["reseller"] = {"id": str(reseller.pk), "name": reseller.name}
        connected = ClientAccount.objects.filter(
            connections__user=user, reseller=reseller,
            is_active=True).order_by("name").values_list("pk", "name")
        claims["accounts"] = [{"id": str(pk), "name": name} for pk, name in connected]
    return claims


def email_verified(user: User) -> bool:
    """The address has received a code that was typed back: a verification code entered
    since the address was last set (an email change is itself confirmed by a code sent to
    the new address, but the operator's `set_email` is not)."""
    changed = (AuditEvent.objects.filter(subject=user, event_type=EventType.EMAIL_CHANGED)
               .order_by("-created_at").values_list("created_at", "extra").first())
    if changed is not None and changed[1].get("via") != "cli":
        return True
    codes = AuditEvent.objects.filter(subject=user, event_type=EventType.CODE_VERIFIED)
    if changed is not None:
        codes = codes.filter(created_at__gte=changed[0])
    return codes.exists()


def user_may_sign_in(user: Any) -> bool:
    """Active, in an active account and reseller: the same rule as the pages."""
    return bool(LoginguardBackend().user_can_authenticate(user))


def client_admits(client: Client | None, user: User) -> bool:
    """A platform-wide client admits everyone; an account's client admits that account's
    users and the reseller users connected to it."""
    if client is None or client.account_id is None:
        return True
    if user.account_id is not None:
        return user.account_id == client.account_id
    return Connection.objects.filter(user=user, account_id=client.account_id).exists()


@dataclass(frozen=True)
class ConnectedApp:
    application_id: int
    name: str
    scopes: list[str]
    first_used: datetime
    last_used: datetime


def connected_apps(user: User) -> list[ConnectedApp]:
    """Apps holding live tokens of the user (an authorization not ended)."""
    rows = (Authorization.objects.filter(user=user, ended_at__isnull=True,
                                         family__isnull=False)
            .values("application_id", "application__name")
            .annotate(first=Min("created_at"), last=Max("last_used_at")).order_by("-last"))
    scopes: dict[int, set[str]] = {}
    for app_id, scope in Authorization.objects.filter(
            user=user, ended_at__isnull=True, family__isnull=False).values_list(
            "application_id", "scope"):
        scopes.setdefault(app_id, set()).update(scope.split())
    return [ConnectedApp(application_id=row["application_id"],
                         name=row["application__name"],
                         scopes=sorted(scopes.get(row["application_id"], set())),
                         first_used=row["first"], last_used=row["last"]) for row in rows]


_origins: tuple[float, str] = (0.0, "")
ORIGINS_TTL = 60.0  # seconds a process keeps the list of apps' origins


def redirect_origins() -> str:
    """The origins of every registered redirect URI, space-separated, for the sign-in
    pages' CSP ``form-action``: the last sign-in form redirects (through /o/authorize/)
    to an app, and browsers apply form-action to every hop of that redirect. Read at most
    once a minute per process; a database outage keeps the last answer."""
    global _origins
    import time
    from urllib.parse import urlsplit

    from django.db import DatabaseError
    from oauth2_provider.models import get_application_model

    read_at, value = _origins
    if time.monotonic() - read_at < ORIGINS_TTL:
        return value
    try:
        fields = get_application_model().objects.values_list("redirect_uris", flat=True)
        origins = sorted({f"{parts.scheme}://{parts.netloc}" for field in fields
                          for parts in map(urlsplit, field.split()) if parts.netloc})
    except DatabaseError:
        return value
    _origins = (time.monotonic(), " ".join(origins))
    return _origins[1]


def forget_redirect_origins() -> None:
    global _origins
    _origins = (0.0, "")
