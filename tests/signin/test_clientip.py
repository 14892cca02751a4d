"""SPEC §2.5 client IP."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from loginguard.lib.clientip import client_ip
from tests.conftest import Personas, Visitor


def ip_for(remote: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


@pytest.fixture
def proxies(settings: Any) -> None:
    import ipaddress

    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]


def test_without_trusted_proxies_only_remote_addr_counts() -> None:
    assert ip_for("203.0.113.5", "198.51.100.1") == "203.0.113.5"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(proxies: None) -> None:
    assert ip_for("203.0.113.5", "198.51.100.1") == "203.0.113.5"


def test_rightmost_untrusted_hop_wins(proxies: None) -> None:
    # client forged "1.2.3.4"; the real client is the hop the first proxy saw.
    assert ip_for("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.1") == "198.51.100.7"


def test_other_headers_are_never_read(proxies: None) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="1.1.1.1",
                                   HTTP_CLIENT_IP="2.2.2.2", HTTP_FORWARDED="for=3.3.3.3")
    assert client_ip(request) == "10.0.0.2"


@pytest.mark.parametrize("garbage", ["", " ", "999.1.1.1", "not-an-ip", ",,,",
                                     ", ".join(["198.51.100.1"] * 1000), "\x00", "1.2.3.4:80"])
def test_garbage_forwarded_for_falls_back_to_remote_addr(proxies: None, garbage: str) -> None:
    assert ip_for("10.0.0.2", garbage) == "10.0.0.2"


def test_ipv4_mapped_ipv6_is_normalised() -> None:
    assert ip_for("::ffff:203.0.113.9") == "203.0.113.9"


@pytest.mark.parametrize("garbage", ["", "999.1.1.1", ", ".join(["5.5.5.5"] * 1000)])
def test_garbage_header_on_the_sign_in_page_is_never_a_500(personas: Personas, proxies: None,
                                                           garbage: str) -> None:
    browser = Visitor(ip="10.0.0.2")
    response = browser.post("/login/", {"username": "bob", "password": "wrong-password-1"},
                            HTTP_X_FORWARDED_FOR=garbage)
    assert response.status_code == 200
    from loginguard.audit.models import AuditEvent

    assert AuditEvent.objects.get(event_type="login.failed").ip == "10.0.0.2"


def test_the_derived_ip_feeds_devices_alerts_and_audit(personas: Personas,
                                                       proxies: None) -> None:
    from loginguard.audit.models import AuditEvent
    from loginguard.devices.models import TrustedDevice
    from tests.conftest import emails_to, last_code

    browser = Visitor(ip="10.0.0.2")
    forwarded = {"HTTP_X_FORWARDED_FOR": "198.51.100.77"}
    browser.client.defaults.update(forwarded)
    browser.password("bob")
    browser.code(last_code("bob@acme.example"))
    browser.trust("yes", "Office")
    assert TrustedDevice.objects.get().ip == "198.51.100.77"
    assert AuditEvent.objects.get(event_type="login.succeeded").ip == "198.51.100.77"
    assert "198.51.100.77" in str(emails_to("bob@acme.example")[-1].body)
