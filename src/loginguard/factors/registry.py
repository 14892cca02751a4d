"""Every way of passing the sign-in's second step, behind one small interface (SPEC §14;
django-allauth's ``mfa`` adapters): what it is called, whether the user has it, how it is
entered (a code typed on the code page, a recovery code, a passkey ceremony), how strong
it is (the second step asks for the strongest the user has), and whether it counts as a
factor beyond the mailbox. The sign-in flow, the pages and the policies ask this list; a
new factor is its own module in this folder plus one line in ``FACTORS`` (and one in
proofs.KINDS)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from loginguard.factors.models import AuthenticatorApp, Passkey, RecoveryCode
from loginguard.users.models import User

# How a factor is entered on the sign-in pages.
CODE, RECOVERY, PASSKEY = "code", "recovery", "passkey"


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


FACTORS: tuple[Factor, ...] = (
    Factor("passkey", "Passkey", PASSKEY, strength=3, beyond_email=True,
           phishing_resistant=True, rows=Passkey.objects.all),
    Factor("app", "Authenticator app", CODE, strength=2, beyond_email=True,
           phishing_resistant=False, rows=AuthenticatorApp.objects.all),
    Factor("email", "Emailed code", CODE, strength=1, beyond_email=False,
           phishing_resistant=False),
    Factor("recovery_codes", "Recovery code", RECOVERY, strength=0, beyond_email=False,
           phishing_resistant=False, rows=lambda: RecoveryCode.objects.filter(used_at=None)),
)
BY_KEY = {factor.key: factor for factor in FACTORS}
COUNTED = [factor for factor in FACTORS if factor.rows is not None]


def _flags() -> dict[str, Exists]:
    return {f"factor_{factor.key}": Exists(factor.rows().filter(user=OuterRef("pk")))
            for factor in COUNTED if factor.rows is not None}


def enrolled(user: User) -> list[Factor]:
    """The factors the user has, strongest first (the emailed code always): one query."""
    found = User.objects.filter(pk=user.pk).values(**_flags()).first() or {}
    return [factor for factor in FACTORS
            if factor.rows is None or found.get(f"factor_{factor.key}")]


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
