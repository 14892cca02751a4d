"""What the workers delete by themselves, `loginguard housekeeping [--dry-run]`, and the
claim that makes several workers run it once (issue 15 item 4)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django_tasks_db.models import DBTaskResult

from loginguard.audit.events import EventType
from loginguard.audit.models import AuditEvent
from loginguard.audit.services import audit_log
from loginguard.codes.models import OneTimeCode
from loginguard.emails.models import OutgoingEmail
from loginguard.lib import clock
from loginguard.ops import housekeeping
from loginguard.signin.models import UserSession
from loginguard.throttle import counters
from loginguard.throttle.models import Counter
from loginguard.users.models import EmailChange
from tests.conftest import Personas, Visitor, deliver
from tests.ops.test_cli import run

pytestmark = pytest.mark.django_db


def aged(personas: Personas) -> None:
    """One row for every sweep that is old enough to go, and one beside it that is not."""
    now = clock.now()
    user = personas.member
    for minutes in (11, 5):
        OneTimeCode.objects.create(user=user, purpose="login", challenge=f"c{minutes}",
                                   code_hmac="x", created_at=now - timedelta(minutes=minutes),
                                   expires_at=now - timedelta(minutes=minutes - 10))
    EmailChange.objects.create(user=user, new_email="old@x.example", challenge="",
                               created_at=now - timedelta(days=15))
    EmailChange.objects.create(user=personas.admin, new_email="new@x.example", challenge="",
                               created_at=now - timedelta(days=1))
    audit_log(event_type=EventType.USER_UPDATED, subject=user)
    AuditEvent.objects.update(created_at=now - timedelta(days=401))
    audit_log(event_type=EventType.USER_UPDATED, subject=user)  # today's stays
    Counter.objects.create(key="pw-ip:203.0.113.1", count=3,
                           window_started_at=now - timedelta(days=31))
    Counter.objects.create(key="pw-ip:203.0.113.2", count=3,
                           window_started_at=now - timedelta(days=1))


@pytest.fixture
def database_counters(settings: Any) -> Any:
    """The counters sweep is about the database store (Redis expires its own keys)."""
    settings.REDIS_URL = None
    counters.store.cache_clear()
    yield
    counters.store.cache_clear()


def test_housekeeping_deletes_what_is_old_and_keeps_the_rest(
        personas: Personas, database_counters: Any) -> None:
    Visitor().sign_in(personas.member)  # a live session, a sent code email
    deliver()
    aged(personas)
    # Bodies left from before this release (delivery clears them now).
    OutgoingEmail.objects.update(body_text="old code 123456", body_html="<p>123456</p>")
    before = housekeeping.preview()
    assert before["codes"] >= 1 and before["email_changes"] == 1
    assert before["audit"] >= 1 and before["throttle_counters"] == 1
    assert before["email_bodies"] == OutgoingEmail.objects.count() >= 1

    done = housekeeping.run()
    assert done == before
    assert not OneTimeCode.objects.filter(challenge="c11").exists()
    assert OneTimeCode.objects.filter(challenge="c5").exists()
    assert list(EmailChange.objects.values_list("new_email", flat=True)) == ["new@x.example"]
    assert AuditEvent.objects.filter(event_type="user.updated").count() == 1
    assert list(Counter.objects.filter(key__startswith="pw-ip:203").values_list(
        "key", flat=True)) == ["pw-ip:203.0.113.2"]
    assert not OutgoingEmail.objects.exclude(body_text="").exists()
    assert UserSession.objects.filter(user=personas.member).exists()  # still signed in
    assert housekeeping.run() == dict.fromkeys(done, 0)  # idempotent


def test_old_marks_of_finished_sign_ins_and_passkey_challenges_go(personas: Personas) -> None:
    from loginguard.factors.models import UsedChallenge
    from loginguard.signin.models import TrustClaim

    now = clock.now()
    for age, name in ((timedelta(days=2), "old"), (timedelta(minutes=5), "new")):
        TrustClaim.objects.create(challenge=name, created_at=now - age)
        UsedChallenge.objects.create(value=name, created_at=now - age)
    done = housekeeping.run()
    assert done["trust_claims"] == 1 and done["passkey_challenges"] == 1
    assert list(TrustClaim.objects.values_list("challenge", flat=True)) == ["new"]
    assert list(UsedChallenge.objects.values_list("value", flat=True)) == ["new"]


def test_ended_sessions_and_old_task_results_go(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    deliver()
    Session.objects.update(expire_date=clock.now() - timedelta(seconds=1))
    DBTaskResult.objects.update(finished_at=clock.now() - timedelta(days=15))
    done = housekeeping.run()
    assert done["sessions"] >= 1 and done["user_sessions"] == 1
    assert done["task_results"] >= 1
    assert not UserSession.objects.exists() and not Session.objects.exists()


def test_audit_retention_follows_the_setting(personas: Personas, settings: Any) -> None:
    audit_log(event_type=EventType.USER_UPDATED, subject=personas.member)
    AuditEvent.objects.update(created_at=clock.now() - timedelta(days=40))
    settings.AUDIT_RETENTION_DAYS = 400
    assert housekeeping.preview()["audit"] == 0
    settings.AUDIT_RETENTION_DAYS = 30
    assert housekeeping.preview()["audit"] == AuditEvent.objects.count()


def test_the_dry_run_shows_and_changes_nothing(personas: Personas,
                                               database_counters: Any) -> None:
    aged(personas)
    rows = (OneTimeCode.objects.count(), EmailChange.objects.count(),
            AuditEvent.objects.count(), Counter.objects.count())
    out = run("housekeeping", "--dry-run")
    assert "codes" in out and "would delete" in out and "Dry run" in out
    assert re.search(r"^email_changes +would delete +1 ", out, re.M)
    assert rows == (OneTimeCode.objects.count(), EmailChange.objects.count(),
                    AuditEvent.objects.count(), Counter.objects.count())
    out = run("housekeeping")
    assert re.search(r"^email_changes +deleted +1 ", out, re.M)
    assert EmailChange.objects.count() == rows[1] - 1


def test_several_workers_claim_each_run_once() -> None:
    interval = timedelta(hours=1)
    assert housekeeping.claim(interval, "worker-a")
    assert not housekeeping.claim(interval, "worker-b")
    assert not housekeeping.claim(interval, "worker-a")
    clock.advance(interval + timedelta(seconds=1))
    assert housekeeping.claim(interval, "worker-b")


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_does_it_by_itself(tmp_path: Path) -> None:
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'hk.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    lg = [sys.executable, "-m", "loginguard.cli"]
    subprocess.run([*lg, "migrate", "-v0"], env=env, check=True, timeout=120)
    seed = ("from datetime import timedelta; from loginguard.lib import clock; "
            "from loginguard.actions.tenants import account_create; "
            "from loginguard.actions.users import user_create; "
            "from loginguard.codes.models import OneTimeCode; "
            "u = user_create(username='hk', email='hk@x.example', "
            "account=account_create(name='HK')); now = clock.now(); "
            "OneTimeCode.objects.create(user=u, purpose='login', challenge='c', "
            "code_hmac='x', created_at=now - timedelta(hours=1), "
            "expires_at=now - timedelta(minutes=50))")
    subprocess.run([*lg, "shell", "-c", seed], env=env, check=True, timeout=60)
    count = ("from loginguard.codes.models import OneTimeCode; "
             "print(OneTimeCode.objects.count())")
    worker = subprocess.Popen([*lg, "worker", "-v0"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        left = "1"
        while time.monotonic() < deadline and left != "0":
            time.sleep(1)
            left = subprocess.run([*lg, "shell", "-c", count], env=env, capture_output=True,
                                  text=True, timeout=60).stdout.strip().splitlines()[-1]
        assert left == "0", "the worker did not sweep the expired code within 30 s"
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def test_an_email_a_stopped_worker_left_sending_is_queued_again_once(
        personas: Personas) -> None:
    """A worker killed (or cut off from its database) between claiming an email and
    recording the result left it 'sending' for good: housekeeping queues it again after
    10 minutes, and it is then delivered exactly once. One being sent now is left alone."""
    from loginguard.emails.models import EmailStatus
    from loginguard.emails.queue import queue_email

    user = personas.member
    stuck = queue_email(kind="invitation", to=user.email, context={"user": user, "link": "x"})
    busy = queue_email(kind="invitation", to="busy@example.com",
                       context={"user": user, "link": "y"})
    DBTaskResult.objects.all().delete()  # the tasks died with the worker
    now = clock.now()
    OutgoingEmail.objects.filter(pk=stuck.pk).update(
        status=EmailStatus.SENDING, claimed_at=now - timedelta(minutes=11))
    OutgoingEmail.objects.filter(pk=busy.pk).update(
        status=EmailStatus.SENDING, claimed_at=now - timedelta(minutes=1))
    assert housekeeping.preview(now)["stuck_emails_requeued"] == 1
    assert housekeeping.run(now)["stuck_emails_requeued"] == 1
    assert housekeeping.run(now)["stuck_emails_requeued"] == 0  # idempotent
    sent = deliver()
    assert [m.to for m in sent] == [[user.email]]
    assert OutgoingEmail.objects.get(pk=stuck.pk).status == EmailStatus.SENT
    assert OutgoingEmail.objects.get(pk=busy.pk).status == EmailStatus.SENDING
