"""The request type of views that only signed-in users reach (healthchecks' pattern)."""

from __future__ import annotations

from django.http import HttpRequest

from loginguard.users.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """An ``HttpRequest`` behind ``login_required``: ``request.user`` is a ``User``. Only an
    annotation: the view's decorator is what makes it true."""

    user: User


def actor_of(request: HttpRequest) -> User:
    """The signed-in user of a page behind ``login_required``."""
    user = request.user
    assert isinstance(user, User)  # every caller is behind login_required
    return user
