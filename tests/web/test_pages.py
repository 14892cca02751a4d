from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_to_root_is_sent_to_login() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/"


def test_login_page_uses_the_base_template_with_landmarks() -> None:
    html = Client().get("/login/").content.decode()
    for fragment in ('<main id="main"', 'role="banner"', 'role="contentinfo"',
                     '/static/loginguard/app.css', 'class="skip-link"'):
        assert fragment in html
    assert "<script>" not in html and "style=" not in html  # CSP: nothing inline


def test_static_css_is_served_by_the_app() -> None:
    response = Client().get("/static/loginguard/app.css")
    assert response.status_code == 200
    assert b"--brand" in b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_dev_mailbox_does_not_exist_outside_demo_mode() -> None:
    assert Client().get("/dev/mailbox/").status_code == 404
    assert Client().get("/dev/mailbox/anything/").status_code == 404


def test_dev_mailbox_lists_and_shows_caught_messages(settings: Any, tmp_path: Path) -> None:
    settings.DEV_MAILBOX_DIR = str(tmp_path / "mail")
    message = mail.EmailMultiAlternatives("Hello there", "plain body 123", "a@x.example",
                                          ["b@x.example"])
    message.attach_alternative("<p>html body</p>", "text/html")
    key = mailbox.Maildir(tmp_path / "mail", create=True).add(message.message().as_bytes())
    listing = Client().get("/dev/mailbox/")
    assert listing.status_code == 200 and b"Hello there" in listing.content
    detail = Client().get(f"/dev/mailbox/{key}/")
    assert b"plain body 123" in detail.content and b"&lt;p&gt;html body" in detail.content
    assert Client().get("/dev/mailbox/no-such-key/").status_code == 404
