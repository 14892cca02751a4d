"""Work the web request hands to the worker so that its own timing tells nothing."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="email")
def password_reset_dispatch(email: str, ip: str, user_agent: str) -> int:
    """Forgot password, the worker's half (users.passwords.password_reset_request)."""
    from loginguard.devices.request_info import RequestInfo
    from loginguard.record.passwords import password_reset_send_all

    return password_reset_send_all(email=email, info=RequestInfo.from_parts(ip, user_agent))
