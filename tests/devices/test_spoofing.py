"""SPEC §2.2: the fingerprint narrows a device secret; it never grants trust alone."""

from __future__ import annotations

from typing import Any

import pytest

from loginguard.devices.cookie import cookie_name, hash_secret
from loginguard.devices.fingerprint import families
from loginguard.devices.models import TrustedDevice
from tests.conftest import (
    CHROME_LINUX,
    CHROME_WINDOWS,
    FIREFOX_LINUX,
    FIREFOX_WINDOWS,
    PASSWORD,
    Personas,
    Visitor,
    last_code,
)


@pytest.fixture
def trusted(personas: Personas) -> Visitor:
    """Bob's own browser, trusted from his home IP."""
    home = Visitor()
    home.sign_in(personas.member, trust="yes", name="Home")
    home.post("/logout/")
    return home


def asks_for_code(response: Any) -> bool:
    return response.headers.get("Location") == "/login/verify/"


def test_victims_user_agent_and_ip_without_the_cookie_need_the_code(
        personas: Personas, trusted: Visitor) -> None:
    attacker = Visitor(ip=trusted.ip, user_agent=CHROME_WINDOWS)
    assert asks_for_code(attacker.password("bob"))


def test_forwarded_for_from_an_untrusted_peer_is_ignored(personas: Personas,
                                                         trusted: Visitor) -> None:
    attacker = Visitor(ip="192.0.2.66")
    attacker.client.cookies[cookie_name()] = trusted.client.cookies[cookie_name()].value
    response = attacker.post("/login/", {"username": "bob", "password": PASSWORD},
                             HTTP_X_FORWARDED_FOR=trusted.ip)
    assert asks_for_code(response)


def test_one_users_cookie_gives_another_user_nothing(personas: Personas,
                                                     trusted: Visitor) -> None:
    # Same browser (cookie shared), but alice never trusted it.
    assert asks_for_code(trusted.password("alice"))


def test_a_shared_browser_can_be_trusted_by_several_users(personas: Personas,
                                                          trusted: Visitor) -> None:
    secret = trusted.client.cookies[cookie_name()].value
    trusted.sign_in(personas.admin, trust="yes", name="Shared PC")
    # Every "Yes" brings a fresh secret (review finding 7); bob's device row moved to it,
    # so the browser still has one secret for both users, and the old one is dead.
    assert trusted.client.cookies[cookie_name()].value != secret
    assert TrustedDevice.objects.filter(secret_hash=hash_secret(secret)).count() == 0
    trusted.post("/logout/")
    assert trusted.password("alice").headers["Location"] == "/"
    trusted.post("/logout/")
    assert trusted.password("bob").headers["Location"] == "/"


def test_right_cookie_from_another_ip_under_exact_needs_code_and_offers_prompt(
        personas: Personas, trusted: Visitor) -> None:
    trusted.ip = "198.51.100.24"  # same /24, different address
    assert asks_for_code(trusted.password("bob"))
    assert trusted.code(last_code("bob@acme.example")).headers["Location"] == "/login/trust/"


@pytest.mark.parametrize(("policy", "new_ip", "needs_code"), [
    ("network", "198.51.100.200", False),   # same /24
    ("network", "198.51.101.23", True),     # next /24
    ("off", "203.0.113.9", False),
    ("exact", "198.51.100.23", False),      # unchanged
])
def test_ip_policy_of_the_account(personas: Personas, trusted: Visitor, policy: str,
                                  new_ip: str, needs_code: bool) -> None:
    personas.account.ip_match = policy
    personas.account.save()
    trusted.ip = new_ip
    assert asks_for_code(trusted.password("bob")) is needs_code


@pytest.mark.parametrize("user_agent", [FIREFOX_WINDOWS, CHROME_LINUX, FIREFOX_LINUX],
                         ids=["other browser", "other OS", "both"])
@pytest.mark.parametrize("policy", ["exact", "network", "off"])
def test_a_different_browser_or_os_is_a_different_device(personas: Personas, trusted: Visitor,
                                                         policy: str, user_agent: str) -> None:
    personas.account.ip_match = policy
    personas.account.save()
    trusted.client.defaults["HTTP_USER_AGENT"] = user_agent
    assert asks_for_code(trusted.password("bob"))


def test_ipv6_network_policy_matches_the_same_64(personas: Personas) -> None:
    personas.account.ip_match = "network"
    personas.account.save()
    browser = Visitor(ip="2001:db8:1:2::10")
    browser.sign_in(personas.member, trust="yes", name="v6")
    browser.post("/logout/")
    browser.ip = "2001:db8:1:2:ffff::1"
    assert browser.password("bob").headers["Location"] == "/"
    browser.post("/logout/")
    browser.ip = "2001:db8:1:3::10"
    assert asks_for_code(browser.password("bob"))


def test_a_planted_device_cookie_never_becomes_trusted(personas: Personas) -> None:
    # Review finding 7: an attacker sets a well-formed secret in the victim's browser (a
    # sibling subdomain, plain http), waits for the victim to say "Yes", then would own
    # a trusted secret. The "Yes" must mint its own.
    planted = "P" * 43
    victim = Visitor()
    victim.client.cookies[cookie_name()] = planted
    victim.sign_in(personas.member, trust="yes", name="Home")
    assert victim.client.cookies[cookie_name()].value != planted
    assert not TrustedDevice.objects.filter(secret_hash=hash_secret(planted)).exists()
    attacker = Visitor()  # same IP and browser as the victim, holding the planted value
    attacker.client.cookies[cookie_name()] = planted
    assert asks_for_code(attacker.password("bob"))


@pytest.mark.parametrize("cookie", ["", "short", "x" * 43 + "!", "A" * 5000, "../../etc"])
def test_a_malformed_device_cookie_is_ignored(personas: Personas, cookie: str) -> None:
    browser = Visitor()
    browser.client.cookies[cookie_name()] = cookie
    assert asks_for_code(browser.password("bob"))
    browser.code(last_code("bob@acme.example"))
    browser.trust("yes", "New")
    assert browser.client.cookies[cookie_name()].value != cookie
    assert TrustedDevice.objects.count() == 1


def test_only_the_first_512_characters_of_a_user_agent_are_parsed() -> None:
    # ua-parser's regular expressions are not run over an attacker's megabyte header.
    assert families("x" * 400 + CHROME_WINDOWS) == ("Chrome", "Windows")
    assert families("x" * 512 + CHROME_WINDOWS) == ("Other", "Other")
