from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from loginguard.forwardauth.responses import granted, unauthorized


@csrf_exempt  # any method the proxy forwards; reads nothing from a body, changes nothing
def forward(request: HttpRequest) -> HttpResponse:
    """The full stack's answer (see middleware.py): the session middleware, Django's
    authentication and the session-binding middleware have run."""
    if not request.user.is_authenticated:
        return unauthorized(request)
    return granted(request, request.user, request.session)
