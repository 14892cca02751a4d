"""The sign-in as one flow of ordered stages (SPEC §2; STYLE habit 3): password, then the
emailed code, then the trust prompt, each answering with an explicit outcome. The HTML
views turn outcomes into redirects, cookies and pages; a JSON or OpenID Connect front end
can drive the same flow (a later stage, e.g. an authorize step, resumes after
``SignedIn``). All state between stages is the session's pending login (ids and times)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from loginguard.audit.events import EventType
from loginguard.codes.services import Verdict
from loginguard.devices.cookie import set_secret
from loginguard.devices.request_info import RequestInfo
from loginguard.factors.proofs import Proof
from loginguard.signin import services
from loginguard.signin.pending import STAGE_CODE, STAGE_TRUST, PendingLogin
from loginguard.signin.sessions import session_end, session_start
from loginguard.users.models import User
from loginguard.users.selectors import user_by_id

STAGE_PASSWORD = "password"
# Set by a sign-in an app demanded a code for (OpenID Connect acr_values, sso.views): the
# code is asked even on a trusted device whose last code is under 30 days old.
FORCE_CODE_KEY = "lg_force_code"
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
WITH_CODE = [Proof.PASSWORD, Proof.EMAIL_CODE]


@dataclass(frozen=True)
class SignedIn:
    """The browser is signed in. ``new_device_secret``: a device secret to store in the
    browser (a "Yes" at the trust prompt)."""

    proofs: list[Proof]
    new_device_secret: str | None = None
    notice: str | None = None


@dataclass(frozen=True)
class NeedCode:
    """The code stage is next; ``problem`` when no code could be sent (the quota)."""

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


Outcome = SignedIn | NeedCode | NeedTrust | Refused


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
        force_code = bool(self.request.session.pop(FORCE_CODE_KEY, False))
        step = services.after_password(user=result.user, info=self.info,
                                       candidates=result.devices, force_code=force_code)
        if step.signed_in_with is not None:
            return self._sign_in(result.user, proofs=[Proof.PASSWORD, Proof.TRUSTED_DEVICE])
        assert step.pending is not None
        if self.request.session.session_key is not None:
            # A pre-set session id must not carry into sign-in. (With none, the session is
            # created with a fresh key when the response saves it: one write, not two.)
            self.request.session.cycle_key()
        step.pending.save(self.request.session)
        return NeedCode(problem=step.quota_error)

    # --- stage 2: the emailed code ---------------------------------------------------------

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
            return NeedTrust() if pending.stage == STAGE_TRUST else NeedCode()
        user = user_by_id(pending.user_id)
        if user is None or not user.is_active or not services.pending_valid(
                user=user, pending=pending, info=self.info):
            return self._restart()
        return pending, user

    def code(self, *, submitted: object) -> Outcome:
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        verdict = services.code_step(user=user, pending=pending, submitted=submitted,
                                     info=self.info)
        if verdict is not Verdict.OK:
            return Refused(CODE_MESSAGES[verdict])
        device = services.stale_device(user=user, pending=pending)
        if device is not None:  # trusted already: the code was due after 30 days
            services.trusted_device_refreshed(device=device, info=self.info)
            return self._sign_in(user, proofs=[Proof.PASSWORD, Proof.EMAIL_CODE,
                                               Proof.TRUSTED_DEVICE])
        pending.stage = STAGE_TRUST
        pending.save(self.request.session)
        return NeedTrust()

    def resend(self) -> Outcome:
        found = self.at(STAGE_CODE)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        problem = services.send_code(user=user, pending=pending, info=self.info,
                                     cooldown=True)
        if problem:
            return NeedCode(problem=problem)
        return NeedCode(notice="A new code is on its way. Earlier codes no longer work.")

    # --- stage 3: the trust prompt ---------------------------------------------------------

    def trust(self, *, choice: str, device_name: str) -> Outcome:
        found = self.at(STAGE_TRUST)
        if not isinstance(found, tuple):
            return found
        pending, user = found
        with transaction.atomic():
            if not services.trust_claim(pending=pending):
                # A concurrent submit of this same form signed in already: leave the
                # session alone (its cookie is the winner's) and go on.
                return SignedIn(proofs=WITH_CODE)
            if choice == "no":
                services.trust_declined(user=user, info=self.info)
                return self._sign_in(user, proofs=WITH_CODE)
            secret = services.trust_accepted(user=user, name=device_name, info=self.info)
            return self._sign_in(user, proofs=WITH_CODE, new_device_secret=secret,
                                 notice=f"“{device_name}” is now a trusted device.")

    # --- the end of a sign-in ---------------------------------------------------------------

    def log_out(self) -> bool:
        """End this browser's session and any pending sign-in; whether one was signed in."""
        was_signed_in = bool(self.request.user.is_authenticated)
        session_end(self.request, event=EventType.SESSION_ENDED, info=self.info)
        return was_signed_in

    def _sign_in(self, user: User, *, proofs: list[Proof], new_device_secret: str | None = None,
                 notice: str | None = None) -> SignedIn:
        session_start(self.request, user=user, info=self.info, proofs=proofs)
        return SignedIn(proofs=proofs, new_device_secret=new_device_secret, notice=notice)

    def _restart(self) -> Refused:
        PendingLogin.clear(self.request.session)
        return Refused(RESTART, restart=True)


def store_device_secret(response: HttpResponse, outcome: SignedIn) -> None:
    """The cookie half of a "Yes": the fresh device secret goes to the browser."""
    if outcome.new_device_secret is not None:
        set_secret(response, outcome.new_device_secret)
