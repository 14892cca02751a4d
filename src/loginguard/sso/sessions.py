"""The other half of every session end (SPEC §11): when a signed-in session ends, for any
reason (log out, IP or device change, idle or absolute timeout, "sign out other sessions",
a password change or reset, deactivation, suspension, housekeeping), its UserSession row
goes. That row's deletion, in the same transaction, revokes the token families issued in
the session and queues a back-channel logout for each app with a back-channel URI.

A ``post_delete`` receiver rather than calls at each place that ends a session: Django
sends it for every way the row goes (``QuerySet.delete()``, a cascade from the user, the
housekeeping sweep), so a new way of ending a session cannot forget the apps."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from loginguard.signin.models import UserSession
from loginguard.sso.models import Authorization
from loginguard.sso.services import authorizations_end


@receiver(post_delete, sender=UserSession, dispatch_uid="loginguard.sso.session_ended")
def session_ended(sender: type[UserSession], instance: UserSession, **kwargs: Any) -> None:
    authorizations_end(Authorization.objects.filter(session_ref=instance.pk))
