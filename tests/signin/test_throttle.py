"""SPEC §2.6 password throttles: named policies, shared through the database or Redis.
Failures count per username and source (the trusted browser, else the IP), per username
from everywhere with a higher ceiling, and per IP; they expire an hour after a run starts."""

from __future__ import annotations

from datetime import timedelta

from loginguard.lib import clock
from loginguard.throttle import counters, policies
from tests.conftest import PASSWORD, Personas, Visitor

LOCKED = b"Too many failed attempts for this username"


def fail(name: str, ip: str = "203.0.113.1", times: int = 1) -> None:
    for _ in range(times):
        Visitor(ip=ip).password(name, "wrong-password-1")


def test_fifth_failure_from_one_source_locks_the_username_there(personas: Personas) -> None:
    fail("bob", times=5)
    assert LOCKED in Visitor(ip="203.0.113.1").password("bob").content  # right password
    clock.advance(timedelta(seconds=31))
    assert Visitor(ip="203.0.113.1").password("bob").headers["Location"] == "/login/verify/"


def test_failures_from_one_address_do_not_lock_out_another(personas: Personas) -> None:
    # The review: whoever knew a username could keep its owner out from anywhere.
    fail("bob", ip="203.0.113.1", times=5)
    assert Visitor(ip="198.51.100.7").password("bob").headers["Location"] == "/login/verify/"


def test_four_failures_do_not_lock(personas: Personas) -> None:
    fail("bob", times=4)
    assert Visitor(ip="203.0.113.1").password("bob").headers["Location"] == "/login/verify/"


def test_lock_backs_off_and_is_capped_at_an_hour(personas: Personas) -> None:
    locks = []
    for _ in range(20):
        answer = counters.reserve("k", lock_from=policies.PASSWORD_LOCK_FROM)
        locks.append(answer.state.locked_for())
        clock.advance(timedelta(seconds=answer.state.locked_for() + 1))
    assert locks[:4] == [0, 0, 0, 0] and locks[4] == 30 and locks[5] == 60
    assert max(locks) == 3600


def test_a_locked_attempt_is_refused_without_counting(personas: Personas) -> None:
    fail("bob", times=5)
    fail("bob", times=3)  # refused while locked: neither hashed nor counted
    assert counters.read("pw-user:bob:ip:203.0.113.1").count == 5


def test_failures_expire_after_an_hour(personas: Personas) -> None:
    # One guess an hour must never keep a lock alive.
    fail("bob", times=5)
    clock.advance(timedelta(hours=1, seconds=1))
    fail("bob")
    assert Visitor(ip="203.0.113.1").password("bob").headers["Location"] == "/login/verify/"
    fail("bob", times=3)  # 1 + 3 + the success above, cleared: still under five
    assert Visitor(ip="203.0.113.1").password("bob").headers["Location"] == "/login/verify/"


def test_failures_within_the_hour_add_up(personas: Personas) -> None:
    fail("bob", times=4)
    clock.advance(timedelta(minutes=59))
    fail("bob")
    assert LOCKED in Visitor(ip="203.0.113.1").password("bob").content


def test_unknown_usernames_lock_exactly_like_real_ones(personas: Personas) -> None:
    for name in ("bob", "nobody"):
        fail(name, times=5)
    real = Visitor(ip="203.0.113.1").password("bob", "x").content
    fake = Visitor(ip="203.0.113.1").password("nobody", "x").content
    assert LOCKED in real and LOCKED in fake


def spray(name: str, failures: int) -> None:
    """``failures`` wrong passwords for ``name``, each from its own address."""
    for n in range(failures):
        fail(name, ip=f"10.{n // 250}.{n % 250}.1")


def test_a_spray_from_many_addresses_locks_the_username_at_fifty(personas: Personas) -> None:
    spray("bob", 49)
    assert Visitor(ip="198.51.100.7").password("bob").headers["Location"] == "/login/verify/"
    spray("bob", 50)  # the success above cleared the count: 50 failures from 50 addresses
    assert LOCKED in Visitor(ip="198.51.100.8").password("bob").content


def trusted_browser(personas: Personas) -> Visitor:
    browser = Visitor()
    browser.sign_in(personas.member, trust="yes", name="Home")
    browser.post("/logout/")
    return browser


def test_a_trusted_browser_is_not_locked_out_by_a_spray(personas: Personas) -> None:
    browser = trusted_browser(personas)
    spray("bob", policies.PASSWORD_USER_LOCK_FROM + 5)
    assert LOCKED in Visitor(ip="198.51.100.8").password("bob").content
    assert browser.password("bob").headers["Location"] == "/"  # trusted: straight in


def test_a_trusted_browser_is_not_locked_out_from_its_own_address(personas: Personas) -> None:
    # An attacker behind the same NAT as the user fails five times: the user's trusted
    # browser keeps its own count.
    browser = trusted_browser(personas)
    fail("bob", ip=browser.ip, times=5)
    assert LOCKED in Visitor(ip=browser.ip).password("bob").content
    assert browser.password("bob").headers["Location"] == "/"


def test_a_trusted_browser_is_locked_by_its_own_failures(personas: Personas) -> None:
    browser = trusted_browser(personas)
    for _ in range(5):
        browser.password("bob", "wrong-password-1")
    assert LOCKED in browser.password("bob").content


def test_a_secret_of_another_user_does_not_exempt(personas: Personas) -> None:
    # alice's trusted browser trying bob's username counts like any other source.
    browser = Visitor()
    browser.sign_in(personas.admin, trust="yes", name="Home")
    browser.post("/logout/")
    spray("bob", policies.PASSWORD_USER_LOCK_FROM)
    assert LOCKED in browser.password("bob").content


def test_twenty_failures_a_minute_per_ip(personas: Personas) -> None:
    for n in range(20):
        Visitor(ip="203.0.113.50").password(f"user{n}", "wrong-password-1")
    response = Visitor(ip="203.0.113.50").password("bob")
    assert b"Too many failed sign-ins from your network" in response.content
    assert Visitor(ip="203.0.113.51").password("bob").headers["Location"] == "/login/verify/"
    clock.advance(timedelta(seconds=61))
    assert Visitor(ip="203.0.113.50").password("alice").headers["Location"] == \
        "/login/verify/"


def test_success_clears_only_that_users_counters(personas: Personas) -> None:
    for _ in range(3):
        Visitor().password("bob", "wrong-password-1")
        Visitor().password("alice", "wrong-password-1")
    Visitor().password("bob", PASSWORD)
    ip = Visitor().ip
    assert counters.read(f"pw-user:bob:ip:{ip}").count == 0
    assert counters.read("pw-user:bob").count == 0
    assert counters.read(f"pw-user:alice:ip:{ip}").count == 3
    assert counters.read("pw-user:alice").count == 3
    # The IP's budget counts failures: the success gave its reservation back.
    assert counters.read(f"pw-ip:{ip}", timedelta(minutes=1)).count == 6


def test_counters_live_in_the_configured_store(personas: Personas) -> None:
    from loginguard.throttle.models import Counter

    Visitor().password("bob", "wrong-password-1")
    store = counters.store()
    if isinstance(store, counters.RedisStore):  # REDIS_URL is set (CI's PostgreSQL run)
        assert store.redis.hget(store.prefix + "pw-user:bob", "c") == b"1"
        assert not Counter.objects.exists()
    else:
        assert Counter.objects.filter(key="pw-user:bob", count=1).exists()
