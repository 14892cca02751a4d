"""Every way of passing the sign-in's second step, behind one small interface (SPEC §14;
django-allauth's ``mfa`` adapters): what it is called, whether the user has it, how it is
entered (a code typed on the code page, a recovery code, a passkey ceremony), how strong
it is (the second step asks for the strongest the user has), and whether it counts as a
factor beyond the mailbox, how the pages word it, and what a typed code is checked with.
The sign-in flow, the pages and the policies ask this list; a new factor is its own module
in this folder plus one line in ``FACTORS`` (and its line in proofs.KINDS): nothing in
signin, sso, forwardauth or the metrics names a factor (docs/development.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from loginguard.devices.request_info import RequestInfo
from loginguard.factors import recovery, totp
from loginguard.factors.models import AuthenticatorApp, Passkey, RecoveryCode
from loginguard.factors.proofs import Proof
from loginguard.users.models import User

# How a factor is entered on the sign-in pages.
CODE, RECOVERY, PASSKEY = "code", "recovery", "passkey"
EMAIL = "email"  # the baseline every user has: the sign-in's own emailed code
Check = Callable[[User, object, RequestInfo], bool]


def _app_code(user: User, submitted: object, info: RequestInfo) -> bool:
    return totp.app_code_matches(user, submitted) is not None


def _recovery_code(user: User, submitted: object, info: RequestInfo) -> bool:
    return recovery.code_use(user=user, submitted=submitted, info=info)


@dataclass(frozen=True)
class Factor:
    key: str
    label: str  # "Authenticator app"
    entry: str  # CODE, RECOVERY or PASSKEY
    strength: int  # the second step offers the strongest the user has first
    beyond_email: bool  # satisfies the account policy app_or_passkey
    phishing_resistant: bool  # satisfies the account policy passkey
    # The rows that make a user have it (filtered by ``user``); None: every user has it.
    rows: Callable[[], QuerySet[Any]] | None = None
    # The condition ``rows`` adds, in SQL, for the one-statement check of ``enrolled``
    # (tests/factors/test_registry_sql.py compares the two for every factor).
    rows_sql: str = ""
    proof: Proof | None = None  # what passing it adds to the sign-in's proofs
    check: Check | None = None  # a typed code of this factor (CODE, RECOVERY entries)
    # The pages' words: the "other ways" button, the heading, the field and what a wrong
    # code is told.
    choose: str = ""
    prompt: str = ""
    field_label: str = ""
    hint: str = ""
    wrong: str = ""


FACTORS: tuple[Factor, ...] = (
    Factor("passkey", "Passkey", PASSKEY, strength=3, beyond_email=True,
           phishing_resistant=True, rows=Passkey.objects.all, choose="Use your passkey",
           prompt="Use your passkey"),
    Factor("app", "Authenticator app", CODE, strength=2, beyond_email=True,
           phishing_resistant=False, rows=AuthenticatorApp.objects.all,
           proof=Proof.APP_CODE, check=_app_code, choose="Use your authenticator app",
           prompt="Enter the code from your app", field_label="Code from your app",
           hint="Open your authenticator app and type the 6-digit code it shows for "
                "loginguard.",
           wrong="That code is not right. Type the 6 digits your authenticator app shows "
                 "for loginguard now (each code works once)."),
    Factor(EMAIL, "Emailed code", CODE, strength=1, beyond_email=False,
           phishing_resistant=False, proof=Proof.EMAIL_CODE,
           choose="Email me a code instead", prompt="Check your email",
           field_label="Verification code"),
    Factor("recovery_codes", "Recovery code", RECOVERY, strength=0, beyond_email=False,
           phishing_resistant=False, rows=lambda: RecoveryCode.objects.filter(used_at=None),
           rows_sql="used_at IS NULL",
           proof=Proof.RECOVERY_CODE, check=_recovery_code, choose="Use a recovery code",
           prompt="Use a recovery code", field_label="Recovery code",
           wrong="That recovery code is not right, or it was used before. Each code works "
                 "once: check the list you saved."),
)
BY_KEY = {factor.key: factor for factor in FACTORS}
COUNTED = [factor for factor in FACTORS if factor.rows is not None]


def _flags() -> dict[str, Exists]:
    return {f"factor_{factor.key}": Exists(factor.rows().filter(user=OuterRef("pk")))
            for factor in COUNTED if factor.rows is not None}


@cache
def _enrolled_sql() -> str:
    """``SELECT EXISTS (…), EXISTS (…), …``: one per counted factor, in COUNTED's order."""
    quote = connection.ops.quote_name
    checks = []
    for factor in COUNTED:
        assert factor.rows is not None
        model = factor.rows().model
        where = f"{quote(model._meta.get_field('user').column)} = %s"
        if factor.rows_sql:
            where += f" AND {factor.rows_sql}"
        # Table and column names from the models, quoted; the user's id is a parameter.
        table = quote(model._meta.db_table)
        checks.append(f"EXISTS (SELECT 1 FROM {table} WHERE {where})")  # noqa: S608
    return "SELECT " + ", ".join(checks)


def enrolled(user: User) -> list[Factor]:
    """The factors the user has, strongest first (the emailed code always): one plain
    statement written once (a named selector: building the ORM's three-subquery statement
    cost 0.6 ms of every /api/v1/me and every second step)."""
    with connection.cursor() as cursor:
        cursor.execute(_enrolled_sql(), [user.pk] * len(COUNTED))
        row = cursor.fetchone()
    has = {factor.key for factor, flag in zip(COUNTED, row or (), strict=True) if flag}
    return [factor for factor in FACTORS if factor.rows is None or factor.key in has]


def of_entry(methods: list[str], entry: str) -> Factor | None:
    """The first of ``methods`` (factor keys) entered as ``entry``."""
    return next((BY_KEY[key] for key in methods if key in BY_KEY
                 and BY_KEY[key].entry == entry), None)


def kinds(user: User) -> list[str]:
    """The kinds of factor beyond the emailed code the user has (never a secret): what
    the admin's list and the API show."""
    return [factor.key for factor in enrolled(user) if factor.key != "email"]


def beyond_email(factors: list[Factor]) -> bool:
    return any(factor.beyond_email for factor in factors)


def with_kinds(users: QuerySet[User]) -> QuerySet[User]:
    """``users`` with a ``factor_<key>`` flag per factor (one statement for a whole list:
    the admin's list, the API's)."""
    return users.annotate(**_flags())


def kinds_of(user: User) -> list[str]:
    """``kinds``, from ``with_kinds``' flags when the user came with them."""
    if all(hasattr(user, f"factor_{factor.key}") for factor in COUNTED):
        return [factor.key for factor in COUNTED if getattr(user, f"factor_{factor.key}")]
    return kinds(user)


def without_factor_beyond_email(users: QuerySet[User]) -> QuerySet[User]:
    """The users who have nothing but the emailed code (the admin's filter)."""
    for factor in COUNTED:
        if factor.rows is not None and factor.beyond_email:
            users = users.exclude(Exists(factor.rows().filter(user=OuterRef("pk"))))
    return users
