from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from loginguard.audit.events import EventType
from loginguard.devices.request_info import RequestInfo
from loginguard.signin.next_url import remember_next
from loginguard.signin.sessions import binding_violation, enrollment_due, session_end
from loginguard.tenancy.policy import ip_policy_for

MESSAGES = {
    "fingerprint_changed": (
        "You were signed out because your IP address, browser or operating system changed "
        "since you signed in. Sign in again; you can save this new location as a trusted "
        "device."),
    "idle": "You were signed out after 60 minutes without activity. Sign in again.",
    "expired": "Your session reached its 12-hour limit. Sign in again.",
    "invalid": "Your session could not be verified. Sign in again.",
}
EVENTS = {"fingerprint_changed": EventType.SESSION_FINGERPRINT_CHANGED}


class SessionBindingMiddleware:
    """Ends a signed-in session whose device changed, that sat idle 60 minutes, or that
    is 12 hours old, on the server, whatever the cookie says (SPEC §2.4)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            reason = binding_violation(request, ip_policy_for(request.user))
            if reason is not None:
                session_end(request, event=EVENTS.get(reason, EventType.SESSION_EXPIRED),
                            info=RequestInfo.of(request), reason=reason)
                messages.warning(request, MESSAGES[reason])
                return redirect("login")
        return self.get_response(request)


# What a session that must still add a factor may reach: the enrolment page and what it
# posts to, logging out, the static files (health checks never reach this middleware).
ENROLLING_MAY = ("/security/factors/", "/logout/", "/static/", "/dev/mailbox/")
ENROLL_URL = "/security/factors/enroll/"


class EnrollmentGate:
    """A user whose account asks for a factor they have not got signs in with what they
    have once more, and is then kept on the enrolment page until they add it (SPEC §14):
    every other page, an app's /o/authorize/ included, sends them there (and on to where
    they were going once done). Forward auth answers them 401 with that page's URL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and enrollment_due(request.session) and \
                not request.path.startswith(ENROLLING_MAY):
            if request.method in ("GET", "HEAD"):
                remember_next(request.session, request.get_full_path())
            return redirect(ENROLL_URL)
        return self.get_response(request)
