"""How a user proved who they are in a sign-in: a list of these values, kept in the session
(``signin.sessions.proofs_of``) and on every authorization an app receives. One line per
way of proving: what the apps see (RFC 8176 ``amr``), whether it is a second factor
entered in this sign-in, whether it is phishing-resistant (a passkey), and its label in
the metrics and on the pages. Nothing in signin, sso, forwardauth or the metrics names
a factor: they ask here."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Proof(enum.StrEnum):
    PASSWORD = "password"
    EMAIL_CODE = "email_code"
    TRUSTED_DEVICE = "trusted_device"  # a trusted device let the second step be skipped
    APP_CODE = "app_code"
    PASSKEY = "passkey"  # a device-bound passkey or security key
    SYNCED_PASSKEY = "synced_passkey"  # a passkey its provider syncs (backup eligible)
    RECOVERY_CODE = "recovery_code"


@dataclass(frozen=True)
class Kind:
    amr: str | None  # RFC 8176; None: nothing an app is told (a remembered device)
    second_factor: bool  # a factor beyond the password, entered in this sign-in
    phishing_resistant: bool
    label: str  # the metrics' ``factor`` label


KINDS: dict[Proof, Kind] = {
    Proof.PASSWORD: Kind("pwd", second_factor=False, phishing_resistant=False,
                         label="password"),
    Proof.EMAIL_CODE: Kind("otp", second_factor=True, phishing_resistant=False,
                           label="email"),
    Proof.TRUSTED_DEVICE: Kind(None, second_factor=False, phishing_resistant=False,
                               label="trusted_device"),
    Proof.APP_CODE: Kind("otp", second_factor=True, phishing_resistant=False, label="app"),
    Proof.PASSKEY: Kind("hwk", second_factor=True, phishing_resistant=True,
                        label="passkey"),
    Proof.SYNCED_PASSKEY: Kind("swk", second_factor=True, phishing_resistant=True,
                               label="passkey"),
    Proof.RECOVERY_CODE: Kind("otp", second_factor=True, phishing_resistant=False,
                              label="recovery_code"),
}


BY_VALUE = {proof.value: proof for proof in Proof}


def parsed(values: object) -> list[Proof]:
    """The proofs a session holds; anything else (a session from before this list, a
    tampered value) proves nothing beyond what it names."""
    if not isinstance(values, list):
        return []
    return [BY_VALUE[value] for value in values if value in BY_VALUE]


def amr(proofs: Iterable[Proof]) -> list[str]:
    """RFC 8176 values in the order proved, and ``mfa`` when two factors were used (a
    password and a code, a password and a passkey)."""
    values = list(dict.fromkeys(str(KINDS[p].amr) for p in proofs if KINDS[p].amr))
    return [*values, "mfa"] if len(values) > 1 else values


def second_factor(proofs: Iterable[Proof]) -> Proof | None:
    """The second factor entered in this sign-in, or None (a trusted device skipped it)."""
    return next((p for p in proofs if KINDS[p].second_factor), None)


def phishing_resistant(proofs: Iterable[Proof]) -> bool:
    """A passkey was used in this sign-in."""
    return any(KINDS[p].phishing_resistant for p in proofs)


def label(proofs: Iterable[Proof]) -> str:
    """What the sign-in's second step was, for the metrics: ``passkey``, ``app``,
    ``email``, ``recovery_code``, or ``trusted_device`` when it was skipped."""
    proved = list(proofs)
    found = second_factor(proved)
    if found is not None:
        return KINDS[found].label
    return KINDS[Proof.TRUSTED_DEVICE].label if Proof.TRUSTED_DEVICE in proved else "none"


def outcome(proofs: Iterable[Proof]) -> str:
    """The sign-in metric's outcome: ``trusted`` when a trusted device skipped the second
    step, else ``code``."""
    proved = list(proofs)
    return "trusted" if Proof.TRUSTED_DEVICE in proved and \
        second_factor(proved) is None else "code"
