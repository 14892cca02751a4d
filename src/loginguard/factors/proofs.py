"""How a user proved who they are in a sign-in: a list of these values, kept in the session
(``signin.sessions.proofs_of``) and on every authorization an app receives. One line per
way of proving: what the apps see (RFC 8176 ``amr``), whether it is a second factor
entered in this sign-in, and its label in the metrics and on the pages. Nothing else in
signin, sso, forwardauth or the metrics knows the list."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Proof(enum.StrEnum):
    PASSWORD = "password"
    EMAIL_CODE = "email_code"
    TRUSTED_DEVICE = "trusted_device"  # a trusted device let the code step be skipped


@dataclass(frozen=True)
class Kind:
    amr: str | None  # RFC 8176; None: nothing an app is told (a remembered device)
    second_factor: bool  # a factor beyond the password, entered in this sign-in
    label: str


KINDS: dict[Proof, Kind] = {
    Proof.PASSWORD: Kind(amr="pwd", second_factor=False, label="password"),
    Proof.EMAIL_CODE: Kind(amr="otp", second_factor=True, label="emailed code"),
    Proof.TRUSTED_DEVICE: Kind(amr=None, second_factor=False, label="trusted device"),
}


def parsed(values: object) -> list[Proof]:
    """The proofs a session holds; anything else (a session from before this list, a
    tampered value) proves nothing beyond what it names."""
    if not isinstance(values, list):
        return []
    known = {proof.value for proof in Proof}
    return [Proof(value) for value in values if value in known]


def amr(proofs: Iterable[Proof]) -> list[str]:
    """RFC 8176 values, in the order proved."""
    return list(dict.fromkeys(str(KINDS[p].amr) for p in proofs if KINDS[p].amr))


def second_factor(proofs: Iterable[Proof]) -> Proof | None:
    """The second factor entered in this sign-in, or None (a trusted device skipped it)."""
    return next((p for p in proofs if KINDS[p].second_factor), None)


def outcome(proofs: Iterable[Proof]) -> str:
    """The sign-in metric's outcome: ``trusted`` when a trusted device skipped the second
    step, else ``code``."""
    proved = list(proofs)
    return "trusted" if Proof.TRUSTED_DEVICE in proved and \
        second_factor(proved) is None else "code"
