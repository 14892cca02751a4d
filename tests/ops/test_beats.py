"""Workers' beats: an email claimed by a worker that stopped beating is queued again within
seconds and then delivered once, with the same Message-ID as any earlier copy; a live
worker's claim is left alone; a delivered email is recorded even across a database blip
(issue 17: a worker SIGKILLed mid-send, PostgreSQL restarted mid-send)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import OperationalError
from django_tasks_db.models import DBTaskResult

from loginguard.emails import tasks
from loginguard.emails.models import EmailStatus, OutgoingEmail
from loginguard.emails.queue import queue_email
from loginguard.lib import clock
from loginguard.ops import beats, housekeeping
from loginguard.ops.models import WorkerBeat
from tests.conftest import Personas, deliver

pytestmark = pytest.mark.django_db


def claimed(personas: Personas, by: str, seconds_ago: float = 2) -> OutgoingEmail:
    email = queue_email(kind="invitation", to=personas.member.email,
                        context={"user": personas.member, "link": "x"})
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENDING, claimed_by=by,
        claimed_at=clock.now() - timedelta(seconds=seconds_ago))
    return email


def test_a_dead_workers_claim_is_queued_again_and_a_live_ones_is_not(
        personas: Personas) -> None:
    now = clock.now()
    beats.beat("alive", now, now)
    beats.beat("gone", now - timedelta(minutes=5), now - beats.STALE_AFTER
               - timedelta(seconds=1))
    by_live = claimed(personas, "alive")
    by_gone = claimed(personas, "gone")
    by_unknown = claimed(personas, "never-beat")
    unnamed = claimed(personas, "")  # claimed before workers named their claims
    DBTaskResult.objects.all().delete()  # the tasks died with the worker

    assert beats.rescue(now) == 2
    status = dict(OutgoingEmail.objects.values_list("pk", "status"))
    assert status[by_live.pk] == status[unnamed.pk] == EmailStatus.SENDING
    assert status[by_gone.pk] == status[by_unknown.pk] == EmailStatus.QUEUED
    assert beats.rescue(now) == 0  # once
    assert sorted(m.to[0] for m in deliver()) == [personas.member.email] * 2
    assert OutgoingEmail.objects.get(pk=by_gone.pk).claimed_by == "pytest"


def test_a_task_a_dead_worker_took_but_never_finished_runs_again(personas: Personas) -> None:
    """Killed after taking the task from the queue and before claiming its email: the email
    stays 'queued' and its task 'running' for good, unless the rescue puts the task back
    (found by the fault suite: one code email never arrived)."""
    deliver()  # whatever the personas' setup queued
    mail.outbox.clear()
    now = clock.now()
    beats.beat("alive", now, now)
    beats.beat("gone", now, now - beats.STALE_AFTER - timedelta(seconds=1))
    orphan = queue_email(kind="invitation", to=personas.member.email,
                         context={"user": personas.member, "link": "x"})
    busy = queue_email(kind="invitation", to=personas.admin.email,
                       context={"user": personas.admin, "link": "y"})
    for email, worker in ((orphan, "gone"), (busy, "alive")):
        [row] = DBTaskResult.objects.filter(args_kwargs__args=[email.pk])
        row.claim(worker)
    assert deliver() == []  # nothing left in the queue to send it

    assert beats.rescue(now) == 1
    assert beats.rescue(now) == 0  # once
    assert [m.to for m in deliver()] == [[personas.member.email]]
    assert OutgoingEmail.objects.get(pk=orphan.pk).status == EmailStatus.SENT
    assert OutgoingEmail.objects.get(pk=busy.pk).status == EmailStatus.QUEUED  # alive's


def test_housekeeping_counts_a_dead_workers_claim_too(personas: Personas) -> None:
    claimed(personas, "gone")
    DBTaskResult.objects.all().delete()
    assert housekeeping.preview()["stuck_emails_requeued"] == 1
    assert housekeeping.run()["stuck_emails_requeued"] == 1


def test_beats_are_one_row_per_worker_and_forgotten_after_a_day() -> None:
    now = clock.now()
    beats.beat("w1", now, now - timedelta(seconds=10))
    beats.beat("w1", now, now)
    beats.beat("old", now, now - beats.FORGET_AFTER - timedelta(minutes=1))
    assert WorkerBeat.objects.get(worker_id="w1").beat_at == now
    assert housekeeping.run(now)["worker_beats"] == 1
    assert list(WorkerBeat.objects.values_list("worker_id", flat=True)) == ["w1"]
    beats.stop("w1")
    assert not WorkerBeat.objects.exists()


def test_a_second_delivery_of_one_email_carries_the_same_message_id(
        personas: Personas) -> None:
    email = queue_email(kind="invitation", to=personas.member.email,
                        context={"user": personas.member, "link": "x"})
    [first] = deliver()
    # As if the worker had died after DATA: the row is queued again and sent again.
    OutgoingEmail.objects.filter(pk=email.pk).update(status=EmailStatus.QUEUED,
                                                     body_text="again", body_html="")
    tasks.deliver_email.using(queue_name="email").enqueue(email.pk)
    mail.outbox.clear()
    [second] = deliver()
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert f"<loginguard.{email.pk}." in first.extra_headers["Message-ID"]
    other = queue_email(kind="invitation", to=personas.member.email,
                        context={"user": personas.member, "link": "y"})
    mail.outbox.clear()
    [third] = deliver()
    assert third.extra_headers["Message-ID"] != first.extra_headers["Message-ID"]
    assert other.pk != email.pk


def test_a_delivered_email_is_recorded_when_the_database_comes_back(
        personas: Personas, monkeypatch: pytest.MonkeyPatch) -> None:
    """The save after SMTP accepted the message meets a database that is away: the worker
    waits for it rather than leaving the row 'sending' (which would send it twice)."""
    email = queue_email(kind="invitation", to=personas.member.email,
                        context={"user": personas.member, "link": "x"})
    real_save = OutgoingEmail.save
    failures = iter([OperationalError("server closed the connection"),
                     OperationalError("connection refused")])
    closed: list[bool] = []

    def flaky_save(self: OutgoingEmail, *args: Any, **kwargs: Any) -> None:
        if self.pk == email.pk and self.status == EmailStatus.SENT:
            error = next(failures, None)
            if error is not None:
                raise error
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(OutgoingEmail, "save", flaky_save)
    # Inside the test's transaction the connection must stay open: count the closes.
    monkeypatch.setattr(tasks.connection, "close", lambda: closed.append(True))
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)
    assert len(deliver()) == 1
    row = OutgoingEmail.objects.get(pk=email.pk)
    assert (row.status, row.attempts, row.body_text) == (EmailStatus.SENT, 1, "")
    assert closed == [True, True]


def test_recording_gives_up_after_its_time_and_the_row_stays_for_the_rescue(
        personas: Personas, monkeypatch: pytest.MonkeyPatch) -> None:
    email = queue_email(kind="invitation", to=personas.member.email,
                        context={"user": personas.member, "link": "x"})
    real_save = OutgoingEmail.save

    def down(self: OutgoingEmail, *args: Any, **kwargs: Any) -> None:
        if self.pk == email.pk and self.status == EmailStatus.SENT:
            raise OperationalError("connection refused")
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(OutgoingEmail, "save", down)
    monkeypatch.setattr(tasks.connection, "close", lambda: None)
    monkeypatch.setattr(tasks, "RECORD_SENT_FOR", 0.0)
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)
    deliver()
    assert OutgoingEmail.objects.get(pk=email.pk).status == EmailStatus.SENDING
