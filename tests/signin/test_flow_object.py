"""The sign-in flow object (signin/flow.py) answers each stage with an explicit outcome;
the pages are one front end of it (issue 12)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from loginguard.factors.proofs import Proof
from loginguard.signin.flow import NeedSecondStep, NeedTrust, Refused, SignedIn, SignInFlow
from tests.conftest import CHROME_WINDOWS, HOME_IP, PASSWORD, Personas, last_code


class Browser:
    """A session kept across requests made with RequestFactory."""

    def __init__(self) -> None:
        self.session_key: str | None = None
        self.cookies: dict[str, str] = {}

    def request(self) -> HttpRequest:
        request = RequestFactory().post("/", REMOTE_ADDR=HOME_IP,
                                        HTTP_USER_AGENT=CHROME_WINDOWS)
        request.COOKIES.update(self.cookies)
        SessionMiddleware(lambda r: HttpResponse()).process_request(request)
        if self.session_key:
            request.session = type(request.session)(self.session_key)
        request.user = AnonymousUser()
        return request

    def done(self, request: HttpRequest) -> None:
        request.session.save()
        self.session_key = request.session.session_key


def step(browser: Browser, action: str, **kwargs: object) -> object:
    request = browser.request()
    outcome = getattr(SignInFlow(request), action)(**kwargs)
    browser.done(request)
    return outcome


def test_each_stage_answers_with_an_outcome(personas: Personas) -> None:
    browser = Browser()
    assert isinstance(step(browser, "password", username="bob", password="wrong-one-1"),
                      Refused)
    assert step(browser, "password", username="bob", password=PASSWORD) == NeedSecondStep()
    assert step(browser, "code", submitted="000000" if last_code("bob@acme.example")
                != "000000" else "111111") == Refused(
        "That code is not right. Check the latest email and type its 6 digits.")
    assert step(browser, "code", submitted=last_code("bob@acme.example")) == NeedTrust()
    outcome = step(browser, "trust", choice="yes", device_name="Laptop")
    assert isinstance(outcome, SignedIn)
    assert outcome.proofs == [Proof.PASSWORD, Proof.EMAIL_CODE]
    assert outcome.new_device_secret and len(outcome.new_device_secret) == 43


def test_a_trusted_browser_is_signed_in_at_the_password_stage(personas: Personas) -> None:
    from loginguard.devices.cookie import cookie_name

    browser = Browser()
    step(browser, "password", username="bob", password=PASSWORD)
    step(browser, "code", submitted=last_code("bob@acme.example"))
    yes = step(browser, "trust", choice="yes", device_name="Laptop")
    assert isinstance(yes, SignedIn) and yes.new_device_secret
    again = Browser()
    again.cookies[cookie_name()] = yes.new_device_secret
    assert step(again, "password", username="bob", password=PASSWORD) == SignedIn(
        proofs=[Proof.PASSWORD, Proof.TRUSTED_DEVICE])


def test_a_stage_out_of_turn_says_where_the_browser_belongs(personas: Personas) -> None:
    browser = Browser()
    assert step(browser, "trust", choice="no", device_name="") == Refused(
        "Your sign-in took longer than 10 minutes or was interrupted. Sign in again.",
        restart=True)
    step(browser, "password", username="bob", password=PASSWORD)
    assert step(browser, "trust", choice="no", device_name="") == NeedSecondStep()
