"""Queued email through a real SMTP server (aiosmtpd on a free port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from loginguard.actions.tenants import account_create
from loginguard.actions.users import user_create
from loginguard.emails.models import EmailStatus, OutgoingEmail
from loginguard.emails.queue import queue_email
from loginguard.users.models import User
from tests.conftest import deliver


class Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[tuple[Sink, int]]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 5
    yield Sink(), settings.EMAIL_PORT


@pytest.fixture
def user(db: None) -> User:
    return user_create(username="erin", email="erin@example.com",
                       account=account_create(name="Acme"))


def start(sink: Sink, port: int) -> Controller:
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def test_invitation_is_delivered_by_smtp_as_text_and_html(smtp: tuple[Sink, int],
                                                          user: User) -> None:
    sink, port = smtp
    controller = start(sink, port)
    try:
        from loginguard.actions.users import user_invite

        user_invite(user=user)
        deliver()
    finally:
        controller.stop()
    [message] = sink.messages
    assert message["To"] == "erin@example.com"
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types and "text/html" in types
    assert OutgoingEmail.objects.get().status == EmailStatus.SENT


def test_smtp_down_then_back_delivers_exactly_once(smtp: tuple[Sink, int], user: User) -> None:
    sink, port = smtp
    queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})
    deliver()  # nothing listens on the port
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.QUEUED and email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    retry = DBTaskResult.objects.ready()
    assert not retry.exists()  # the retry waits for its backoff
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())  # time passes
    controller = start(sink, port)
    try:
        deliver()
        deliver()  # a second worker pass finds nothing more to send
    finally:
        controller.stop()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 2
    assert len(sink.messages) == 1


def test_message_that_keeps_failing_is_recorded_as_failed(smtp: tuple[Sink, int], user: User,
                                                          settings: Any) -> None:
    settings.EMAIL_MAX_ATTEMPTS = 3
    settings.EMAIL_RETRY_BASE_SECONDS = 0
    queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})
    deliver()
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.FAILED and email.attempts == 3
    assert email.last_error
    assert not DBTaskResult.objects.ready().exists()


def test_retries_back_off_exponentially(settings: Any) -> None:
    from loginguard.emails.tasks import retry_delay

    settings.EMAIL_RETRY_BASE_SECONDS = 15
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [15, 30, 60, 120]
    assert retry_delay(20).total_seconds() == 3600


def test_rolled_back_change_sends_nothing(user: User) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})
        raise RuntimeError("the change failed")
    assert deliver() == []
    assert not OutgoingEmail.objects.exists()


def test_a_duplicate_task_does_not_send_twice(user: User) -> None:
    from loginguard.emails.tasks import deliver_email

    email = queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})
    deliver_email.using(queue_name="email").enqueue(email.pk)
    assert len(deliver()) == 1


def test_the_worker_log_says_which_email_failed_and_why_never_success(
        smtp: tuple[Sink, int], user: User, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from prometheus_client import REGISTRY

    def failed_count() -> float:
        return REGISTRY.get_sample_value(
            "loginguard_emails_total", {"kind": "invitation", "state": "failed"}) or 0.0

    caplog.set_level(logging.INFO)
    before = failed_count()
    queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})
    deliver()  # nothing listens on the port
    assert failed_count() == before + 1  # the metric counts the failed attempt too
    email = OutgoingEmail.objects.get()
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert ("loginguard.emails.tasks", "WARNING",
            f"email {email.pk} (invitation) to {user.email} failed (attempt 1), retrying in "
            f"15s: {email.last_error}") in lines
    task_lines = [m for name, _, m in lines if name == "django_tasks"
                  and "deliver_email" in m and "state=" in m and "RUNNING" not in m]
    assert task_lines and all("state=FAILED" in m for m in task_lines)
    result = DBTaskResult.objects.filter(status="FAILED").get()
    assert "DeliveryFailed" in str(result.exception_class_path)


class CountingSink(Sink):
    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses


def queue_three(user: User) -> None:
    for _ in range(3):
        queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})


def test_a_burst_of_mail_shares_one_smtp_connection(smtp: tuple[Sink, int], user: User
                                                    ) -> None:
    _, port = smtp
    sink = CountingSink()
    controller = start(sink, port)
    try:
        queue_three(user)
        deliver()
    finally:
        controller.stop()
    assert len(sink.messages) == 3
    assert sink.sessions == 1  # connected and greeted once, not once per message


def test_a_connection_the_server_dropped_is_replaced_without_a_failed_attempt(
        smtp: tuple[Sink, int], user: User) -> None:
    _, port = smtp
    sink = CountingSink()
    controller = start(sink, port)
    try:
        queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})
        deliver()
        controller.stop()  # the server goes away (a restart): the kept connection is dead
        controller = start(sink, port)
        queue_email(kind="invitation", to=user.email, context={"user": user, "link": "y"})
        deliver()
    finally:
        controller.stop()
    assert len(sink.messages) == 2 and sink.sessions == 2
    assert set(OutgoingEmail.objects.values_list("status", "attempts")) == {
        (EmailStatus.SENT, 1)}
