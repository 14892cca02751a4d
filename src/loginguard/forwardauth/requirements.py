"""``X-Auth-Require``: what a route behind the proxy demands beyond a valid session
(SPEC §12). The proxy's configuration sets it per route, for example::

    X-Auth-Require: role=client_admin, account=42|57, fresh-code

Terms are separated by commas and must all hold; ``|`` separates alternatives within a
term. ``role=`` names one of ``client_admin``, ``client_user``, ``reseller_user``;
``account=`` a client account id the user belongs to (reseller users: an active account
of their reseller they are connected to); ``fresh-code`` wants a second factor entered in
this sign-in (a code, a passkey), not a trusted-device skip; ``passkey`` wants a passkey
used in this sign-in (SPEC §14). A header that cannot be read is refused, never
ignored: a typo in a proxy's configuration must not open a route to everyone."""

from __future__ import annotations

from dataclasses import dataclass

from loginguard.access.rules import ROLES, belongs_to, role_of
from loginguard.lib.ids import parse_id
from loginguard.users.models import User

MAX_HEADER = 1024
MAX_TERMS = 16


@dataclass(frozen=True)
class Requirement:
    kind: str  # "role", "account", "fresh-code" or "passkey"
    values: tuple[str, ...] = ()


class Unreadable(ValueError):
    """The header is not in the syntax above."""


def parse(header: str) -> list[Requirement]:
    """The requirements of a header that is present. Present but empty, or holding
    anything but printable ASCII, is unreadable: servers hand WSGI an empty value (or
    mojibake) for a header with non-ASCII bytes, and "no requirement" must never be what
    a broken header reads as. Only an absent header means "any signed-in user"."""
    if len(header) > MAX_HEADER:
        raise Unreadable("X-Auth-Require is too long")
    if not header.isascii() or not header.isprintable():
        raise Unreadable("X-Auth-Require holds characters other than printable ASCII")
    terms = [term.strip() for term in header.split(",") if term.strip()]
    if not terms:
        raise Unreadable("X-Auth-Require is present but empty")
    if len(terms) > MAX_TERMS:
        raise Unreadable("X-Auth-Require has too many terms")
    return [_term(term) for term in terms]


def _term(term: str) -> Requirement:
    if term in ("fresh-code", "passkey"):
        return Requirement(term)
    kind, sep, rest = term.partition("=")
    values = tuple(value.strip() for value in rest.split("|"))
    if not sep or not all(values):
        raise Unreadable(f"cannot read {term[:40]!r} in X-Auth-Require")
    if kind.strip() == "role" and all(value in ROLES for value in values):
        return Requirement("role", values)
    if kind.strip() == "account" and all(parse_id(value) for value in values):
        return Requirement("account", tuple(str(parse_id(value)) for value in values))
    raise Unreadable(f"cannot read {term[:40]!r} in X-Auth-Require")


def unmet(requirements: list[Requirement], *, user: User, fresh_code: bool,
          passkey: bool = False) -> str | None:
    """Why this user and sign-in do not meet the requirements, or None."""
    for requirement in requirements:
        if requirement.kind == "fresh-code" and not fresh_code:
            return ("this app needs a second factor entered at sign-in; this sign-in "
                    "skipped it on a trusted device")
        if requirement.kind == "passkey" and not passkey:
            return "this app needs a sign-in with a passkey"
        if requirement.kind == "role" and role_of(user) not in requirement.values:
            return f"this app needs the role {' or '.join(requirement.values)}"
        if requirement.kind == "account" and not _in_account(user, requirement.values):
            return "this app is for another client account"
    return None


def _in_account(user: User, ids: tuple[str, ...]) -> bool:
    return any(belongs_to(user, int(i)) for i in ids)
