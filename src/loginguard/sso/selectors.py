"""Single sign-on's reads: the claims an app gets, who a client admits, connected apps, and
the two hot-path statements (userinfo, the code exchange; lib/rows.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db.models import Max, Min
from django.http import Http404
from oauth2_provider.models import AccessToken, Grant, RefreshToken, get_application_model

from loginguard.access.rules import belongs_to, may_sign_in, role_of, visible_accounts
from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.lib import rows
from loginguard.lib.ids import parse_id
from loginguard.sso.models import Authorization, Client, Subject
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User
from loginguard.users.selectors import user_columns, user_from_row, user_joins, user_width

Application = get_application_model()


def account_claims(user: User, application_id: int | None = None) -> dict[str, Any]:
    """Scope ``account``: where the user acts (SPEC §11). A reseller user signing in to an
    app bound to one client account is shown that account only (when connected to it),
    never the others they can reach: that app has no business knowing them."""
    claims: dict[str, Any] = {"role": role_of(user), "account": None, "reseller": None}
    if user.account is not None:
        account = user.account
        claims["account"] = {"id": str(account.pk), "name": account.name}
        if account.reseller is not None:
            claims["reseller"] = {"id": str(account.reseller_id),
                                  "name": account.reseller.name}
    elif user.reseller is not None:
        reseller = user.reseller
        claims["reseller"] = {"id": str(reseller.pk), "name": reseller.name}
        connected = visible_accounts(user)
        bound = (Client.objects.filter(application_id=application_id)
                 .values_list("account_id", flat=True).first()
                 if application_id is not None else None)
        if bound is not None:
            connected = connected.filter(pk=bound)
        claims["accounts"] = [{"id": str(pk), "name": name} for pk, name in
                              connected.order_by("name").values_list("pk", "name")]
    return claims


def user_of_sub(sub: object) -> User | None:
    """The user a ``sub`` names, or None."""
    if not isinstance(sub, str) or not sub:
        return None
    found = Subject.objects.select_related("user").filter(sub=sub).first()
    return found.user if found is not None else None


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


def client_admits(client: Client | None, user: User) -> bool:
    """A platform-wide client admits everyone; an account's client admits those who act
    in that account (access.rules.belongs_to)."""
    if client is None or client.account_id is None:
        return True
    return belongs_to(user, client.account_id)


def account_client(account: ClientAccount, client_id: object) -> Client:
    """An app of this client account (an account the caller already may administer), or
    ``Http404``: another account's app is as missing as one that does not exist."""
    pk = parse_id(client_id)
    client = (Client.objects.filter(pk=pk, account=account).select_related("application")
              .first() if pk is not None else None)
    if client is None:
        raise Http404
    return client


@dataclass(frozen=True)
class ConnectedApp:
    application_id: int
    name: str
    scopes: list[str]
    first_used: datetime
    last_used: datetime


def connected_apps(user: User) -> list[ConnectedApp]:
    """Apps holding live tokens of the user (an authorization not ended)."""
    rows_ = (Authorization.objects.filter(user=user, ended_at__isnull=True,
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
                         first_used=row["first"], last_used=row["last"]) for row in rows_]


def authorize_origin(target: object) -> str | None:
    """When ``target`` (a sign-in's ``next``) continues an authorization at
    ``/o/authorize/``, the origin of its redirect URI, if that URI is registered for its
    client; else None. The sign-in page's last form ends, through /o/authorize/, in a
    redirect to that origin, and browsers apply CSP form-action to every hop: this one
    origin is admitted on that response, never every app's."""
    if not isinstance(target, str):
        return None
    parts = urlsplit(target)
    if parts.path != "/o/authorize/" or parts.netloc:
        return None
    query = parse_qs(parts.query)
    client_ids, uris = query.get("client_id", []), query.get("redirect_uri", [])
    if len(client_ids) != 1 or len(uris) != 1:
        return None
    application = Application.objects.filter(client_id=client_ids[0]).first()
    if application is None or not application.redirect_uri_allowed(uris[0]):
        return None
    found = urlsplit(uris[0])
    return f"{found.scheme}://{found.netloc}"


# --- the hot paths: one statement each -------------------------------------------------

TOKEN = rows.Picked(AccessToken, "t", (
    "id", "user_id", "source_refresh_token_id", "id_token_id", "token", "token_checksum",
    "application_id", "expires", "scope", "created", "updated", "resource"))
GRANT = rows.Picked(Grant, "g", (
    "id", "user_id", "code", "application_id", "expires", "redirect_uri", "scope",
    "created", "updated", "code_challenge", "code_challenge_method", "nonce", "claims",
    "resource"))
AUTHORIZATION = rows.Picked(Authorization, "z", (
    "id", "code_checksum", "family", "user_id", "application_id", "session_ref", "sid",
    "auth_time", "amr", "acr", "scope", "email", "email_verified", "created_at",
    "last_used_at", "exchanged_at", "ended_at"))
def _user_columns() -> str:
    """``users.selectors``' user with their tenants, and the subject's ``sub``."""
    return f"{user_columns()}, s.sub"


def _user_joins(user_id: str) -> str:
    """The user ``user_id`` points at with what ``_user_columns()`` reads."""
    return (f"JOIN {User._meta.db_table} u ON u.id = {user_id} {user_joins()} "
            f"LEFT JOIN {Subject._meta.db_table} s ON s.user_id = u.id ")


def _user_from(row: Any, at: int) -> tuple[User, str | None, int]:
    """The user of ``_user_columns()`` starting at ``row[at]``, its tenants attached (no
    further reads); its sub (None before it has one); where the next columns start."""
    user = user_from_row(row, at)
    at += user_width()
    return user, row[at], at + 1


@dataclass(frozen=True)
class UserinfoRow:
    """An access token with everything userinfo answers from, read in one statement."""

    token: Any  # the toolkit's AccessToken
    user: User
    sub: str
    email_verified: bool

    @property
    def expires(self) -> datetime:
        return self.token.expires

    @property
    def scopes(self) -> list[str]:
        return str(self.token.scope).split()

    @property
    def may_sign_in(self) -> bool:
        return may_sign_in(self.user)

    def claims(self) -> dict[str, Any]:
        user = self.user
        claims = {"sub": self.sub, "preferred_username": user.username,
                  "name": user.full_name or user.username, "zoneinfo": user.time_zone,
                  "email": user.email, "email_verified": self.email_verified}
        if "account" in self.scopes:
            claims.update(account_claims(user, self.token.application_id))
        return claims


@cache
def _userinfo_sql() -> str:
    # Table and column names from the models, values only as parameters.
    return (f"SELECT {TOKEN.sql}, {_user_columns()}, "  # noqa: S608
            f"z.email, z.email_verified FROM {AccessToken._meta.db_table} t "
            f"{_user_joins('t.user_id')}"
            f"LEFT JOIN {RefreshToken._meta.db_table} rt ON rt.access_token_id = t.id "
            f"LEFT JOIN {Authorization._meta.db_table} z ON z.family = rt.token_family "
            "WHERE t.token_checksum = %s")


def userinfo_row(digest: str) -> UserinfoRow | None:
    """The access token of this SHA-256, its user with account and resellers, the user's
    sub and the email confirmation read at authorization; None when there is none."""
    from loginguard.sso.services import subject_for  # lazy: services reads these selectors

    found = rows.fetch(_userinfo_sql(), [digest])
    if not found:
        return None
    row = found[0]
    token = TOKEN.build(row)
    user, sub, at = _user_from(row, TOKEN.width)
    snapshot_email, snapshot_verified = row[at:at + 2]
    if sub is None:
        sub = subject_for(user)  # a token from before its user had one: made now
    return UserinfoRow(token=token, user=user, sub=sub,
                       email_verified=bool(snapshot_verified) and snapshot_email == user.email)


@cache
def _grant_sql() -> str:
    return (f"SELECT {GRANT.sql}, {_user_columns()}, "  # noqa: S608
            f"{AUTHORIZATION.sql} FROM {Grant._meta.db_table} g "
            f"{_user_joins('g.user_id')}"
            f"LEFT JOIN {Authorization._meta.db_table} z ON z.code_checksum = %s "
            "AND z.application_id = g.application_id "
            "WHERE g.code = %s")


def grant_by_code(code: str) -> Any:
    """The toolkit's Grant of this code with its user (account, resellers attached; its sub
    as ``grant.lg_sub``) and loginguard's Authorization of it (``grant.lg_authorization``,
    None when there is none), in one statement (the code exchange reads it once;
    validator._grant)."""
    found = rows.fetch(_grant_sql(), [hashlib.sha256(code.encode()).hexdigest(), code])
    if not found:
        return None
    row = found[0]
    grant = GRANT.build(row)
    grant.user, grant.lg_sub, at = _user_from(row, GRANT.width)
    grant.lg_authorization = AUTHORIZATION.none_if_null(row, at)
    return grant
