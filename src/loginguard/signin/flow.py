"""The sign-in as one flow of ordered stages (SPEC §2, §14; STYLE habit 3): the password,
then the second step (the strongest factor the user has that their account accepts: a
passkey, an authenticator app's code, the emailed code, or a recovery code), then the trust
prompt, each answering with an explicit outcome. A passkey alone is also a whole sign-in
(``passwordless``). The HTML views turn outcomes into redirects, cookies and pages; a JSON
or OpenID Connect front end can drive the same flow. All state between stages is the
session's pending login (ids and times)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from loginguard.access.rules import may_sign_in
from loginguard.audit.events import EventType
from loginguard.codes.services import Verdict
from loginguard.devices.cookie import set_secret
from loginguard.devices.models import TrustedDevice
from loginguard.devices.request_info import RequestInfo
from loginguard.factors import passkeys
from loginguard.factors.policy import missing_level
from loginguard.factors.proofs import Proof
from loginguard.factors.registry import (
    BY_KEY,
    CODE,
    EMAIL,
    PASSKEY,
    RECOVERY,
    Factor,
    of_entry,
)
from loginguard.signin import services
from loginguard.signin.pending import STAGE_CODE, STAGE_TRUST, PendingLogin
from loginguard.signin.sessions import session_end, session_start
from loginguard.users.models import User
from loginguard.users.selectors import user_by_id

STAGE_PASSWORD = "password"
# Set by a sign-in an app demanded a second factor for (OpenID Connect acr_values,
# sso.views): it is asked even on a trusted device whose last code is under 30 days old;
# FORCE_PASSKEY_KEY: the second factor must be a passkey.
FORCE_CODE_KEY = "lg_force_code"
FORCE_PASSKEY_KEY = "lg_force_passkey"
# In order. A pending login is at one of the stages after the password.
STAGES = (STAGE_PASSWORD, STAGE_CODE, STAGE_TRUST)

CODE_MESSAGES = {
    Verdict.WRONG: "That code is not right. Check the latest email and type its 6 digits.",
    Verdict.EXPIRED: "That code has expired (codes last 10 minutes). Use “Resend code” "
                     "to get a new one.",
    Verdict.USED_UP: "That code can no longer be used. Use “Resend code” to get a new one.",
    Verdict.LOCKED: "Too many wrong codes. The code step is locked for a while; try again "
                    "later. If this wasn't you, change your password.",
}
RESTART = ("Your sign-in took longer than 10 minutes or was interrupted. Sign in again.")
PASSKEY_UNKNOWN = "That passkey did not sign you in. Try again, or sign in with your password."


@dataclass(frozen=True)
class SignedIn:
    """The browser is signed in. ``new_device_secret``: a device secret to store in the
    browser (a "Yes" at the trust prompt)."""

    proofs: list[Proof]
    new_device_secret: str | None = None
    notice: str | None = None


@dataclass(frozen=True)
class NeedSecondStep:
    """The second step is next; ``problem`` when no code could be sent (the quota)."""

    notice: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class NeedTrust:
    """The trust prompt is next."""


@dataclass(frozen=True)
class Refused:
    """This stage said no. ``restart``: the pending sign-in is over (expired, moved to
    another device, password changed, user gone) and the browser starts again."""

    reason: str
    restart: bool = False


Outcome = SignedIn | NeedSecondStep | NeedTrust | Refused


class SignInFlow:
    """One browser's sign-in, kept in its session."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.info = RequestInfo.of(request)
        self.found: dict[str, tuple[PendingLogin, User] | Outcome] = {}

    # --- stage 1: password ---------------------------------------------------------------

    def password(self, *, username: object, password: object) -> Outcome:
        result = services.password_check(username=username, password=password, info=self.info)
        if result.user is None:
            return Refused(result.error or services.GENERIC_ERROR)
        session = self.request.session
        force_code = bool(session.pop(FORCE_CODE_KEY, False))
        passkey_only = bool(session.pop(FORCE_PASSKEY_KEY, False))
        step = services.after_password(user=result.user, info=self.info,
                                       candidates=result.devices, force_code=force_code,
                                       passkey_only=passkey_only)
        if step.signed_in_with is not None:
            return self._sign_in(result.user, proofs=[Proof.PASSWORD, Proof.TRUSTED_DEVICE],
                                 enroll=missing_level(result.user),
                                 device=step.signed_in_with)
        if step.pending is None:
            return Refused(step.refused or services.GENERIC_ERROR)
        if session.session_key is not None:
            # A pre-set session id must not carry into sign-in. (With none, the session is
            # created with a fresh key when the response saves it: one write, not two.)
            session.cycle_key()
        step.pending.save(session)
        return NeedSecondStep(problem=step.quota_error)

    # --- stage 2: the second step ----------------------------------------------------------

    def at(self, stage: str) -> tuple[PendingLogin, User] | Outcome:
        """The pending login and its user when the browser is at ``stage``; otherwise the
        outcome that says where it belongs. A request for an earlier stage (a
        double-clicked "Verify" arriving after the first click succeeded) is sent on to the
        current stage, not restarted. Read once per request: the view and the stage it
        runs ask the same question before anything has changed."""
        if stage not in self.found:
            self.found[stage] = self._at(stage)
        return self.found[stage]

    def _at(self, stage: str) -> tuple[PendingLogin, User] | Outcome:
        pending = PendingLogin.load(self.request.session)
        if pending is None:
            return self._restart()
        if pending.stage != stage:
            return NeedTrust() if pending.stage == STAGE_TRUST else NeedSecondStep()
        user = user_by_id(pending.user_id)
        if user is None or not user.is_active or not services.pending_valid(
                user=user, pending=pending, info=self.info):
            return self._restart()
        return pending, user

    def code(self, *, submitted: object) -> Outcome:
        """A code typed at the second step, for the factor it asks for now (the emailed
        code, an authenticator app's)."""
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        factor = BY_KEY.get(pending.method)
        if factor is None or factor.entry != CODE:
            return NeedSecondStep()
        return self._typed(pending, user, factor, submitted)

    def recovery(self, *, submitted: object) -> Outcome:
        """A recovery code instead of the second factor."""
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        factor = of_entry(pending.methods, RECOVERY)
        if factor is None:
            return NeedSecondStep()
        return self._typed(pending, user, factor, submitted)

    def _typed(self, pending: PendingLogin, user: User, factor: Factor,
               submitted: object) -> Outcome:
        verdict = services.code_step(user=user, pending=pending, factor=factor,
                                     submitted=submitted, info=self.info)
        if verdict is not Verdict.OK:
            return Refused(factor.wrong if factor.wrong and verdict is not Verdict.LOCKED
                           else CODE_MESSAGES[verdict])
        assert factor.proof is not None
        return self._passed(pending, user, factor.proof)

    def choose(self, *, method: object) -> Outcome:
        """Another of the accepted second steps ("Email me a code instead", "Use your
        authenticator app", …); choosing the email sends a code."""
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        if not isinstance(method, str) or method not in pending.methods:
            return NeedSecondStep()
        pending.method = method
        problem = None
        if method == EMAIL and not pending.code_sent:
            problem = services.email_code_send(user=user, pending=pending, info=self.info,
                                               cooldown=False)
        pending.save(self.request.session)
        return NeedSecondStep(problem=problem)

    def resend(self) -> Outcome:
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        if pending.method != EMAIL:
            return NeedSecondStep()
        problem = services.email_code_send(user=user, pending=pending, info=self.info,
                                           cooldown=True)
        pending.save(self.request.session)
        if problem:
            return NeedSecondStep(problem=problem)
        return NeedSecondStep(notice="A new code is on its way. Earlier codes no longer work.")

    def passkey_options(self) -> dict[str, Any] | Outcome:
        """The options of the second step's passkey ceremony (the user's passkeys)."""
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        if of_entry(pending.methods, PASSKEY) is None:
            return NeedSecondStep()
        return passkeys.authentication_options(session=self.request.session,
                                               purpose=passkeys.SECOND_STEP, user=user)

    def passkey(self, *, credential: object) -> Outcome:
        """The browser's passkey answer at the second step."""
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        if of_entry(pending.methods, PASSKEY) is None:
            return NeedSecondStep()
        try:
            used = passkeys.passkey_verify(session=self.request.session, credential=credential,
                                           purpose=passkeys.SECOND_STEP, user=user,
                                           info=self.info)
        except passkeys.Refused as refused:
            return Refused(str(refused))
        return self._passed(pending, user, used.proof)

    def _passed(self, pending: PendingLogin, user: User, proof: Proof) -> Outcome:
        """The second step passed: a trusted device whose code was due signs in now (its
        30 days start again); any other browser goes to the trust prompt."""
        device = services.stale_device(user=user, pending=pending)
        if device is not None:
            services.trusted_device_refreshed(device=device, info=self.info)
            return self._sign_in(user, proofs=[Proof.PASSWORD, proof, Proof.TRUSTED_DEVICE],
                                 enroll=pending.enroll, device=device)
        pending.stage = STAGE_TRUST
        pending.proof = str(proof)
        pending.save(self.request.session)
        return NeedTrust()

    # --- a passkey alone: both steps at once -------------------------------------------------

    def passwordless_options(self) -> dict[str, Any]:
        return passkeys.authentication_options(session=self.request.session,
                                               purpose=passkeys.SIGN_IN)

    def passwordless(self, *, credential: object) -> Outcome:
        """"Sign in with a passkey": a discoverable credential with user verification is the
        whole sign-in (no password, no code, no trust prompt); the session is bound to this
        device like any other."""
        try:
            used = passkeys.passkey_verify(session=self.request.session, credential=credential,
                                           purpose=passkeys.SIGN_IN, info=self.info)
        except passkeys.Refused as refused:
            return Refused(str(refused))
        user = user_by_id(used.user_id)
        if user is None or not may_sign_in(user):
            return Refused(PASSKEY_UNKNOWN)
        PendingLogin.clear(self.request.session)
        return self._sign_in(user, proofs=[used.proof])

    # --- stage 3: the trust prompt ---------------------------------------------------------

    def trust(self, *, choice: str, device_name: str) -> Outcome:
        found = self.at(STAGE_TRUST)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        proofs = [Proof.PASSWORD, Proof(pending.proof or Proof.EMAIL_CODE)]
        with transaction.atomic():
            if not services.trust_claim(pending=pending):
                # A concurrent submit of this same form signed in already: leave the
                # session alone (its cookie is the winner's) and go on.
                return SignedIn(proofs=proofs)
            if choice == "no":
                services.trust_declined(user=user, info=self.info)
                return self._sign_in(user, proofs=proofs, enroll=pending.enroll)
            secret, device = services.trust_accepted(user=user, name=device_name,
                                                     info=self.info)
            return self._sign_in(user, proofs=proofs, enroll=pending.enroll,
                                 new_device_secret=secret, device=device,
                                 notice=f"“{device_name}” is now a trusted device.")

    # --- the end of a sign-in ---------------------------------------------------------------

    def log_out(self) -> bool:
        """End this browser's session and any pending sign-in; whether one was signed in."""
        was_signed_in = bool(self.request.user.is_authenticated)
        session_end(self.request, event=EventType.SESSION_ENDED, info=self.info)
        return was_signed_in

    def _sign_in(self, user: User, *, proofs: list[Proof], enroll: str = "",
                 new_device_secret: str | None = None, notice: str | None = None,
                 device: TrustedDevice | None = None) -> SignedIn:
        session_start(self.request, user=user, info=self.info, proofs=proofs, enroll=enroll,
                      device=device)
        return SignedIn(proofs=proofs, new_device_secret=new_device_secret, notice=notice)

    def _restart(self) -> Refused:
        PendingLogin.clear(self.request.session)
        return Refused(RESTART, restart=True)


def store_device_secret(response: HttpResponse, outcome: SignedIn) -> None:
    """The cookie half of a "Yes": the fresh device secret goes to the browser."""
    if outcome.new_device_secret is not None:
        set_secret(response, outcome.new_device_secret)
