"""The security overview's reads (issue 29): a user's own state for their home, and
aggregate counts over the client accounts an admin may see. Every function takes what to
count — the user, or account ids that came from the access layer
(``access.rules.visible_accounts`` / ``access.guards``) — and only reads: no new tracking,
everything comes from the audit rows, users, sessions, devices and factors already kept."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate

from loginguard.audit.events import ALERT_DAYS, ALERTS, EventType
from loginguard.audit.models import AuditEvent
from loginguard.devices.fingerprint import families
from loginguard.devices.models import TrustedDevice
from loginguard.factors.models import RecoveryCode
from loginguard.factors.policy import LABELS, missing_level
from loginguard.factors.registry import BY_KEY, enrolled, with_kinds
from loginguard.lib import clock
from loginguard.signin.models import UserSession
from loginguard.tenancy.models import ClientAccount
from loginguard.tenancy.policy import account_levels, factor_level_for
from loginguard.users.models import User

PERIODS = (30, 90)
FLAGS = ("factor_passkey", "factor_app")  # registry.with_kinds' flags the overview reads
INACTIVE_DAYS = 90
LOCKED_HOURS = 24
LIST_LIMIT = 50  # rows a page shows of a list; its CSV has them all
# How a sign-in was finished (the audit row's "factor", factors.proofs.label), in words,
# and the chart's three series.
FACTOR_WORDS = {"passkey": "Passkey", "app": "Authenticator app", "email": "Emailed code",
                "recovery_code": "Recovery code", "trusted_device": "Trusted device",
                "none": "Password only"}
SIGNIN_SERIES = {"trusted": "Trusted device", "code": "Emailed or recovery code",
                 "strong": "Passkey or app"}
TROUBLE_SERIES = {EventType.LOGIN_FAILED: "Failed passwords",
                  EventType.CODE_LOCKED: "Code lock-outs",
                  EventType.UNTRUSTED_LOGIN: "Untrusted-device sign-ins"}
ADOPTION_SERIES = {"passkey": "Passkey", "app": "Authenticator app (no passkey)",
                   "none": "Email only"}


def series_of(factor: str | None) -> str:
    if factor == "trusted_device":
        return "trusted"
    return "strong" if factor in ("passkey", "app") else "code"


# --- the user's home ---------------------------------------------------------------------

@dataclass(frozen=True)
class SignIn:
    when: datetime
    device: str  # "Chrome on Linux"
    ip: str
    how: str  # "Passkey", "Trusted device", ...
    trusted: bool


@dataclass(frozen=True)
class Alert:
    event: AuditEvent
    title: str
    device: str
    answer: str  # "", "me", "not_me"


@dataclass
class Home:
    sign_ins: list[SignIn]
    alerts: list[Alert]
    devices: int
    sessions: int
    factors: list[str]  # labels of what the user has beyond the emailed code
    recovery_left: int | None  # None: no recovery codes
    level: str
    level_label: str
    missing: str  # "" or the level the user still has to reach
    open_alerts: int = field(init=False)

    def __post_init__(self) -> None:
        self.open_alerts = sum(1 for alert in self.alerts if not alert.answer)


def _device(user_agent: str) -> str:
    if not user_agent:
        return "Unknown device"
    browser, os = families(user_agent)
    return f"{browser} on {os}"


def recent_sign_ins(user: User, limit: int = 10) -> list[SignIn]:
    rows = AuditEvent.objects.filter(subject=user, event_type=EventType.LOGIN_SUCCEEDED) \
        .order_by("-created_at", "-id").values("created_at", "ip", "user_agent", "extra")[:limit]
    found = []
    for row in rows:
        extra = row["extra"] if isinstance(row["extra"], dict) else {}
        factor = str(extra.get("factor", "none"))
        found.append(SignIn(when=row["created_at"], device=_device(row["user_agent"]),
                            ip=row["ip"] or "", how=FACTOR_WORDS.get(factor, factor),
                            trusted=factor == "trusted_device"))
    return found


def alerts(user: User) -> list[Alert]:
    since = clock.now() - timedelta(days=ALERT_DAYS)
    events = AuditEvent.objects.filter(subject=user, event_type__in=list(ALERTS),
                                       created_at__gte=since) \
        .select_related("answer").order_by("-created_at", "-id")[:50]
    found = []
    for event in events:
        answer = getattr(event, "answer", None)
        found.append(Alert(event=event, title=ALERTS[event.event_type],
                           device=_device(event.user_agent),
                           answer=answer.answer if answer is not None else ""))
    return found


def home(user: User) -> Home:
    factors = enrolled(user)
    recovery = RecoveryCode.objects.filter(user=user).aggregate(
        total=Count("pk"), left=Count("pk", filter=Q(used_at=None)))
    level = factor_level_for(user)
    return Home(
        sign_ins=recent_sign_ins(user), alerts=alerts(user),
        devices=TrustedDevice.objects.filter(user=user).count(),
        sessions=UserSession.objects.filter(user=user).count(),
        factors=[BY_KEY[f.key].label for f in factors
                 if f.key not in ("email", "recovery_codes")],
        recovery_left=recovery["left"] if recovery["total"] else None,
        level=level, level_label=LABELS.get(level, level),
        missing=missing_level(user, factors))


# --- the admin's overview ----------------------------------------------------------------

def days_of(since: date, until: date) -> list[date]:
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


def window(days: int) -> tuple[datetime, list[date]]:
    """The first instant counted and the calendar days shown (UTC), today included."""
    today = clock.now().date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=clock.now().tzinfo)
    return start, days_of(first, today)


def _events(account_ids: Sequence[int], types: Iterable[str],
            since: datetime) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(account_id__in=list(account_ids),
                                     event_type__in=list(types), created_at__gte=since)


def sign_ins_by_day(account_ids: Sequence[int], days: int) -> dict[str, list[int]]:
    """Sign-ins per day in three series (trusted device / emailed or recovery code /
    passkey or app): one grouped statement over the index (account, type, time)."""
    start, shown = window(days)
    rows = _events(account_ids, [EventType.LOGIN_SUCCEEDED], start) \
        .annotate(day=TruncDate("created_at"), factor=KT("extra__factor")) \
        .values("day", "factor").annotate(n=Count("pk")).order_by()
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    for row in rows:
        counts[series_of(row["factor"])][row["day"]] += row["n"]
    return {key: [counts[key][day] for day in shown] for key in SIGNIN_SERIES}


def trouble_by_day(account_ids: Sequence[int], days: int) -> dict[str, list[int]]:
    """Failed passwords, code lock-outs and untrusted-device sign-ins per day."""
    start, shown = window(days)
    rows = _events(account_ids, list(TROUBLE_SERIES), start) \
        .annotate(day=TruncDate("created_at")).values("day", "event_type") \
        .annotate(n=Count("pk")).order_by()
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    for row in rows:
        counts[row["event_type"]][row["day"]] += row["n"]
    return {str(key): [counts[key][day] for day in shown] for key in TROUBLE_SERIES}


def account_users(account_ids: Sequence[int]) -> QuerySet[User]:
    return User.objects.filter(account_id__in=list(account_ids))


@dataclass(frozen=True)
class Adoption:
    passkey: int
    app: int
    none: int
    not_ready: int  # active users who lack what their account's policy asks

    @property
    def total(self) -> int:
        return self.passkey + self.app + self.none


def adoption(accounts: Sequence[ClientAccount]) -> Adoption:
    """Active users by their strongest factor, and how many fall short of their account's
    policy (admins against the admins' level): one statement for the flags."""
    levels = {account.pk: account_levels(account) for account in accounts}
    rows = with_kinds(account_users(list(levels)).filter(is_active=True)) \
        .values("account_id", "is_client_admin", *FLAGS)
    passkey = app = none = not_ready = 0
    for row in rows:
        if row["factor_passkey"]:
            passkey += 1
        elif row["factor_app"]:
            app += 1
        else:
            none += 1
        users_level, admins_level = levels[row["account_id"]]
        level = admins_level if row["is_client_admin"] else users_level
        if (level == "passkey" and not row["factor_passkey"]) or (
                level == "app_or_passkey" and not (row["factor_passkey"] or row["factor_app"])):
            not_ready += 1
    return Adoption(passkey=passkey, app=app, none=none, not_ready=not_ready)


# The user lists behind the numbers: Manage users takes these as ?show=.
USER_LISTS = {"passkey": "Users with a passkey",
              "app": "Users with an authenticator app and no passkey",
              "none": "Users with nothing beyond the emailed code",
              "inactive": f"Not signed in for {INACTIVE_DAYS} days",
              "locked": f"Locked out in the last {LOCKED_HOURS} hours",
              "deactivated": "Deactivated users"}


def user_list(users: QuerySet[User], show: str) -> QuerySet[User]:
    """``users`` narrowed to one of USER_LISTS (unknown: unchanged). ``users`` must come
    with registry.with_kinds' flags for the factor lists."""
    now = clock.now()
    # The flags are with_kinds' annotations (Q: the type checker knows model fields only).
    if show == "passkey":
        return users.filter(Q(factor_passkey=True))
    if show == "app":
        return users.filter(Q(factor_app=True) & Q(factor_passkey=False))
    if show == "none":
        return users.filter(Q(factor_app=False) & Q(factor_passkey=False))
    if show == "inactive":
        cutoff = now - timedelta(days=INACTIVE_DAYS)
        return users.filter(is_active=True, date_joined__lt=cutoff).filter(
            Q(last_login__lt=cutoff) | Q(last_login=None))
    if show == "locked":
        locked = AuditEvent.objects.filter(
            event_type__in=[EventType.CODE_LOCKED, EventType.LOGIN_THROTTLED],
            created_at__gte=now - timedelta(hours=LOCKED_HOURS), subject__isnull=False)
        return users.filter(pk__in=locked.values("subject_id"))
    if show == "deactivated":
        return users.filter(is_active=False)
    return users


def list_counts(account_ids: Sequence[int]) -> dict[str, int]:
    users = with_kinds(account_users(account_ids))
    return {key: user_list(users, key).count() for key in ("inactive", "locked",
                                                               "deactivated")}


def failing_ips(account_ids: Sequence[int], days: int, limit: int | None = 10
                ) -> list[tuple[str, int]]:
    """The source IPs with the most failed passwords and wrong codes in the period."""
    start, _ = window(days)
    rows = _events(account_ids, [EventType.LOGIN_FAILED, EventType.CODE_FAILED], start) \
        .exclude(ip=None).values("ip").annotate(n=Count("pk")).order_by("-n", "ip")
    found = rows if limit is None else rows[:limit]
    return [(row["ip"], row["n"]) for row in found]


@dataclass(frozen=True)
class AccountFigures:
    """One account's key figures (the reseller's table, `loginguard report`)."""
    account: ClientAccount
    users: int
    sign_ins: int
    failed_passwords: int
    lockouts: int
    untrusted: int
    email_only: int
    not_ready: int
    inactive: int


def account_figures(accounts: Sequence[ClientAccount], days: int) -> list[AccountFigures]:
    start, _ = window(days)
    ids = [account.pk for account in accounts]
    counted = AuditEvent.objects.filter(
        account_id__in=ids, created_at__gte=start,
        event_type__in=[EventType.LOGIN_SUCCEEDED, *TROUBLE_SERIES]) \
        .values("account_id", "event_type").annotate(n=Count("pk")).order_by()
    events: dict[int, Counter[str]] = defaultdict(Counter)
    for row in counted:
        events[row["account_id"]][row["event_type"]] = row["n"]
    users = Counter(User.objects.filter(account_id__in=ids).values_list("account_id",
                                                                        flat=True))
    figures = []
    for account in accounts:
        share = adoption([account])
        figures.append(AccountFigures(
            account=account, users=users[account.pk],
            sign_ins=events[account.pk][EventType.LOGIN_SUCCEEDED],
            failed_passwords=events[account.pk][EventType.LOGIN_FAILED],
            lockouts=events[account.pk][EventType.CODE_LOCKED],
            untrusted=events[account.pk][EventType.UNTRUSTED_LOGIN],
            email_only=share.none, not_ready=share.not_ready,
            inactive=list_counts([account.pk])["inactive"]))
    return figures


def table_rows(values: dict[str, list[int]], labels: dict[Any, str],
               shown: list[date]) -> list[tuple[date, list[int]]]:
    """A chart's data as the table behind it: one row per day, one column per series."""
    keys = [str(key) for key in labels]
    return [(day, [values[key][i] for key in keys]) for i, day in enumerate(shown)]
