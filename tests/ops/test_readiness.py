"""/healthz stays cheap; /readyz asks the database, Redis and the email queue; while
Redis or the database is down, pages answer a clear 503 with Retry-After, never a 500
and never a sign-in without its rules (SPEC §13, issue 15 item 1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from loginguard.emails.models import OutgoingEmail
from loginguard.lib import clock
from loginguard.throttle import counters
from tests.conftest import PASSWORD, Personas, Visitor
from tests.ops.tcpswitch import TcpSwitch

pytestmark = pytest.mark.django_db


def readyz() -> tuple[int, dict[str, Any]]:
    response = Client().get("/readyz")
    return response.status_code, json.loads(response.content)


def test_ready_when_every_part_answers() -> None:
    status, body = readyz()
    assert status == 200
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["email_queue"] == "ok"


def test_an_old_unsent_email_makes_it_not_ready(settings: Any) -> None:
    email = OutgoingEmail.objects.create(kind="code", to="a@b.example", subject="s",
                                         body_text="t", body_html="h")
    assert readyz()[0] == 200
    clock.advance(timedelta(seconds=settings.READYZ_EMAIL_QUEUE_MAX_AGE + 5))
    status, body = readyz()
    assert status == 503
    assert body["checks"]["email_queue"].startswith("oldest unsent message is 90")
    assert body["checks"]["database"] == "ok"
    settings.READYZ_EMAIL_QUEUE_MAX_AGE = 0  # the operator left the queue out
    assert readyz()[0] == 200
    settings.READYZ_EMAIL_QUEUE_MAX_AGE = 900
    email.status = "sent"
    email.save()
    assert readyz()[0] == 200


def test_the_database_unreachable_is_named_and_nothing_else_leaks() -> None:
    with mock.patch("django.db.backends.utils.CursorWrapper.execute",
                    side_effect=OperationalError("connection to server at 10.1.2.3 failed: "
                                                 "password authentication failed")):
        status, body = readyz()
    assert status == 503
    assert body["checks"]["database"] == "unreachable"
    assert "10.1.2.3" not in json.dumps(body) and "password" not in json.dumps(body)


@pytest.fixture
def redis_switch(settings: Any) -> Iterator[TcpSwitch]:
    """REDIS_URL through a switch in front of the machine's Redis (CI runs one)."""
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379 to stand behind the switch")
    switch = TcpSwitch(("127.0.0.1", 6379))
    settings.REDIS_URL = f"redis://127.0.0.1:{switch.port}/15"
    counters.store.cache_clear()
    store = counters.store()
    assert isinstance(store, counters.RedisStore)
    store.redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2,
                                       socket_connect_timeout=2)
    store.prefix = f"loginguard-test-readyz:{id(switch)}:"
    try:
        yield switch
    finally:
        switch.restore() if switch.listener is None else None
        keys = list(store.redis.scan_iter(match=store.prefix + "*"))
        if keys:
            store.redis.delete(*keys)
        counters.store.cache_clear()


def test_redis_down_is_a_503_page_and_not_ready_then_recovers(
        personas: Personas, redis_switch: TcpSwitch) -> None:
    assert readyz() == (200, {"status": "ready", "checks": {
        "database": "ok", "redis": "ok", "email_queue": "ok"}})
    redis_switch.cut()
    status, body = readyz()
    assert (status, body["checks"]["redis"]) == (503, "unreachable")

    visitor = Visitor(raise_request_exception=False)
    response = visitor.password(personas.member.username)
    assert response.status_code == 503  # never a 500, never a sign-in past the throttle
    assert response.headers["Retry-After"] == "30"
    assert b"Temporarily unavailable" in response.content
    assert visitor.signed_in_as() is None
    api = Client(raise_request_exception=False).get("/api/v1/me",
                                                    HTTP_AUTHORIZATION="Bearer lgp_x")
    assert api.status_code in (401, 503)  # a malformed token is refused before Redis

    redis_switch.restore()
    assert readyz()[0] == 200
    assert visitor.password(personas.member.username).status_code == 302


def test_healthz_stays_a_liveness_check_without_the_database() -> None:
    with mock.patch("django.db.backends.utils.CursorWrapper.execute",
                    side_effect=OperationalError("down")):
        response = Client().get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def test_a_page_with_the_database_down_is_a_503_not_a_500(personas: Personas) -> None:
    visitor = Visitor(raise_request_exception=False)
    with mock.patch("django.db.backends.utils.CursorWrapper.execute",
                    side_effect=OperationalError("server closed the connection")):
        page = visitor.post("/login/", {"username": "bob", "password": PASSWORD})
        api = Client(raise_request_exception=False).get("/api/v1/me",
                           HTTP_AUTHORIZATION="Bearer lgp_" + "a" * 40)
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert b"Temporarily unavailable" in page.content
    assert api.status_code in (401, 503)
    if api.status_code == 503:
        assert json.loads(api.content) == {
            "detail": "Temporarily unavailable: try again in a moment."}


def test_an_outage_logs_one_line_per_request_without_tracebacks(
        personas: Personas, caplog: pytest.LogCaptureFixture) -> None:
    """Found by the fault suite (issue 17): each 503 also came with Django's ERROR and the
    connection error's traceback. The part's line stays; the repeats go."""
    visitor = Visitor(raise_request_exception=False)
    with mock.patch("django.db.backends.utils.CursorWrapper.execute",
                    side_effect=OperationalError("server closed the connection")):
        page = visitor.post("/login/", {"username": "bob", "password": PASSWORD})
        ready = Client().get("/readyz")
    assert (page.status_code, ready.status_code) == (503, 503)
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert [r.getMessage() for r in errors] == [
        "answered 503: the database is unreachable"]
    assert errors[0].exc_info is None
