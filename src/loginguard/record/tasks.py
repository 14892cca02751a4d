"""Kept for the upgrade from a release before issue 26: a password reset queued by such a
release (or by its web processes while the workers are already new) names this task,
which now lives in ``actions.credentials``. Remove it in the release after next."""

from __future__ import annotations

from django_tasks import task

from loginguard.actions.credentials import password_reset_send_all
from loginguard.devices.request_info import RequestInfo


@task(queue_name="email")
def password_reset_dispatch(email: str, ip: str, user_agent: str) -> int:
    return password_reset_send_all(email=email, info=RequestInfo.from_parts(ip, user_agent))
