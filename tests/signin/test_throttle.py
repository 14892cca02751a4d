"""SPEC §2.6 password throttles: named policies, shared through the database or Redis."""

from __future__ import annotations

from datetime import timedelta

from loginguard.lib import clock
from loginguard.throttle import counters, policies
from tests.conftest import PASSWORD, Personas, Visitor


def test_fifth_consecutive_failure_locks_the_username(personas: Personas) -> None:
    for _ in range(5):
        Visitor(ip="203.0.113.1").password("bob", "wrong-password-1")
    response = Visitor(ip="203.0.113.2").password("bob")  # right password, other IP
    assert b"Too many failed attempts for this username" in response.content
    clock.advance(timedelta(seconds=31))
    assert Visitor().password("bob").headers["Location"] == "/login/verify/"


def test_lock_backs_off_and_is_capped_at_an_hour(personas: Personas) -> None:
    seconds = [policies.password_failed("bob", "203.0.113.1").locked_for() for _ in range(20)]
    assert seconds[:4] == [0, 0, 0, 0] and seconds[4] == 30 and seconds[5] == 60
    assert max(seconds) == 3600


def test_unknown_usernames_lock_exactly_like_real_ones(personas: Personas) -> None:
    for name in ("bob", "nobody"):
        for _ in range(5):
            Visitor(ip="203.0.113.1").password(name, "wrong-password-1")
    real = Visitor(ip="203.0.113.9").password("bob", "x").content
    fake = Visitor(ip="203.0.113.9").password("nobody", "x").content
    assert b"Too many failed attempts for this username" in real
    assert b"Too many failed attempts for this username" in fake


def test_twenty_failures_a_minute_per_ip(personas: Personas) -> None:
    for n in range(20):
        Visitor(ip="203.0.113.50").password(f"user{n}", "wrong-password-1")
    response = Visitor(ip="203.0.113.50").password("bob")
    assert b"Too many failed sign-ins from your network" in response.content
    assert Visitor(ip="203.0.113.51").password("bob").headers["Location"] == "/login/verify/"
    clock.advance(timedelta(seconds=61))
    assert Visitor(ip="203.0.113.50").password("alice").headers["Location"] == \
        "/login/verify/"


def test_success_clears_only_that_users_counter(personas: Personas) -> None:
    for _ in range(3):
        Visitor().password("bob", "wrong-password-1")
        Visitor().password("alice", "wrong-password-1")
    Visitor().password("bob", PASSWORD)
    assert counters.read("pw-user:bob").count == 0
    assert counters.read("pw-user:alice").count == 3
    assert counters.read(f"pw-ip:{Visitor().ip}", timedelta(minutes=1)).count == 6


def test_counters_live_in_the_configured_store(personas: Personas) -> None:
    from loginguard.throttle.models import Counter

    Visitor().password("bob", "wrong-password-1")
    store = counters.store()
    if isinstance(store, counters.RedisStore):  # REDIS_URL is set (CI's PostgreSQL run)
        assert store.redis.hget(store.prefix + "pw-user:bob", "c") == b"1"
        assert not Counter.objects.exists()
    else:
        assert Counter.objects.filter(key="pw-user:bob", count=1).exists()
