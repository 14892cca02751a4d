"""/metrics: off by default, a bearer token, Prometheus text that the client's own parser
reads, counts from every process (issue 15 item 2)."""

from __future__ import annotations

import re
import secrets
import urllib.request
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Personas, Visitor, deliver

TOKEN = "metrics-" + "x" * 24


def scrape(client: Client | None = None, token: str = TOKEN) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_metrics_do_not_exist_without_a_token(settings: Any) -> None:
    settings.METRICS_TOKEN = None
    assert Client().get("/metrics").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                    f"bearer {TOKEN}", ""])
def test_a_wrong_or_missing_token_is_401(settings: Any, header: str | None) -> None:
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"loginguard_" not in response.content


@pytest.mark.django_db
def test_a_sign_in_shows_up_in_the_counters(personas: Personas, settings: Any,
                                            django_capture_on_commit_callbacks: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        Visitor().password("bob", "wrong-password-entirely")
        Visitor().sign_in(personas.member)  # code, "No": the alert goes out
        deliver()
        Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer nonsense")
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("loginguard_signins_total", outcome="refused") == 1
    assert delta("loginguard_signins_total", outcome="code") == 1
    assert delta("loginguard_codes_total", event="sent") == 1
    assert delta("loginguard_codes_total", event="accepted") == 1
    assert delta("loginguard_alerts_total") == 1
    for kind in ("verification_code", "untrusted_login"):
        assert delta("loginguard_emails_total", kind=kind, state="queued") == 1
        assert delta("loginguard_emails_total", kind=kind, state="sent") == 1
    assert delta("loginguard_api_requests_total", status="401") == 1
    # The Visitor posts the password twice, the code and the trust answer.
    assert delta("loginguard_request_duration_seconds_count", kind="page") == 4
    assert value(after, "loginguard_email_queue_length") == 0
    assert value(after, "loginguard_email_queue_oldest_seconds") == 0


@pytest.mark.django_db
def test_locks_are_counted(personas: Personas, settings: Any,
                           django_capture_on_commit_callbacks: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    before = scrape()
    visitor = Visitor()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(7):
            visitor.password("bob", "wrong-password-entirely")
    after = scrape()
    locked = value(after, "loginguard_signins_total", outcome="locked") - \
        value(before, "loginguard_signins_total", outcome="locked")
    assert locked >= 1
    assert value(after, "loginguard_throttle_locks_total", kind="password") - \
        value(before, "loginguard_throttle_locks_total", kind="password") == locked


@pytest.mark.e2e
def test_several_processes_add_up(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`serve --workers 2` and a worker: one scrape, whichever process answers it, counts
    every request and every email of every process."""
    from tests.e2e.conftest import running_stack

    token = secrets.token_urlsafe(24)
    with running_stack(tmp_path_factory.mktemp("metrics"), METRICS_TOKEN=token) as stack:
        for _ in range(30):
            urllib.request.urlopen(stack.base_url + "/login/").read()
        stack.cli("create_account", "Metrics Co")
        stack.cli("create_user", "mia", "--email", "mia@metrics.example", "--account",
                  "Metrics Co", "--invite")
        stack.inbox.wait_for("mia@metrics.example", "")  # sent by the worker process

        def scrape_live() -> dict[tuple[str, tuple], float]:
            request = urllib.request.Request(stack.base_url + "/metrics",
                                             headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request) as response:
                return samples(response.read().decode())

        for _ in range(4):  # each scrape may land on either web process
            found = scrape_live()
            assert value(found, "loginguard_request_duration_seconds_count",
                         kind="page") >= 30
            assert sum(v for (n, labels), v in found.items()
                       if n == "loginguard_emails_total" and ("state", "sent") in labels) >= 1
        pids = {p.stem.rsplit("_", 1)[-1] for p in
                (stack.env_path("metrics")).glob("*.db")}
        assert len(pids) >= 3, pids  # two web processes and the worker wrote their own
        assert re.search(r"\d+", next(iter(pids)))
