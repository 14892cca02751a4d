"""LOG_FORMAT=json|text and LOG_LEVEL; the access log's fields; security events in the
log after their commit, without secrets; a failed email attempt is never a success
(issue 15 item 3)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loginguard.web.logs import JsonFormatter
from tests.conftest import Personas, Visitor, deliver


def json_lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


@pytest.mark.django_db
def test_access_log_fields_in_json(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="loginguard.access")
    Visitor().get("/login/?next=/x&code=123456&password=hunter2")
    [line] = json_lines(caplog, "loginguard.access")
    assert line["method"] == "GET" and line["status"] == 200
    assert line["path"] == "/login/?next=/x&code=[redacted]&password=[redacted]"
    assert line["client_ip"] == "198.51.100.23" and line["user_id"] is None
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO" and line["time"].endswith("Z")
    assert "123456" not in json.dumps(line) and "hunter2" not in json.dumps(line)


@pytest.mark.django_db
def test_security_events_reach_the_log_after_commit_without_secrets(
        personas: Personas, caplog: pytest.LogCaptureFixture,
        django_capture_on_commit_callbacks: Any) -> None:
    caplog.set_level(logging.INFO, logger="loginguard.audit")
    visitor = Visitor()
    with django_capture_on_commit_callbacks(execute=True):
        visitor.post("/login/", {"username": "my-password-by-mistake", "password": "x" * 12})
        visitor.sign_in(personas.member)
    lines = json_lines(caplog, "loginguard.audit")
    events = [line["event"] for line in lines]
    assert "login.failed" in events and "code.sent" in events
    assert "login.succeeded" in events
    text = json.dumps(lines)
    assert "my-password-by-mistake" not in text  # a typed username stays in the row only
    sent = next(line for line in lines if line["event"] == "code.sent")
    assert sent["subject_id"] == personas.member.pk and sent["client_ip"] == "198.51.100.23"
    for message in deliver():  # no code from any email in any log line
        for code in __import__("re").findall(r"(?<!\d)\d{6}(?!\d)", str(message.body)):
            assert code not in text


@pytest.mark.django_db
def test_a_rolled_back_change_is_not_logged(personas: Personas,
                                            caplog: pytest.LogCaptureFixture,
                                            django_capture_on_commit_callbacks: Any) -> None:
    from django.db import transaction

    from loginguard.audit.events import EventType
    from loginguard.audit.services import audit_log

    caplog.set_level(logging.INFO, logger="loginguard.audit")
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        audit_log(event_type=EventType.USER_UPDATED, subject=personas.member)
        raise RuntimeError
    assert json_lines(caplog, "loginguard.audit") == []


def run_cli(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50),
               "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}", **env}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-c", code],
                          env=environ, capture_output=True, text=True, timeout=60)


def test_log_format_and_level_come_from_the_environment(tmp_path: Path) -> None:
    code = ("import logging; log = logging.getLogger('loginguard.test'); "
            "log.info('hello', extra={'answer': 42}); log.debug('hidden')")
    as_json = run_cli(tmp_path, code, LOG_FORMAT="json")
    [line] = [json.loads(x) for x in as_json.stderr.splitlines() if '"loginguard.test"' in x]
    assert line["message"] == "hello" and line["answer"] == 42
    as_text = run_cli(tmp_path, code, LOG_FORMAT="text", LOG_LEVEL="debug")
    assert " INFO loginguard.test: hello" in as_text.stderr
    assert "DEBUG loginguard.test: hidden" in as_text.stderr
    quiet = run_cli(tmp_path, code, LOG_LEVEL="WARNING")
    assert "hello" not in quiet.stderr
    bad = run_cli(tmp_path, code, LOG_FORMAT="xml")
    assert bad.returncode == 2 and "LOG_FORMAT='xml': use one of text, json" in bad.stderr


def test_under_json_every_line_serve_writes_is_json_and_cli_output_stays_apart(
        tmp_path: Path) -> None:
    """Issue 28: `serve` printed plain text (its banner, the server's own [INFO] lines)
    under LOG_FORMAT=json, and audit lines mixed into a command's output."""
    import socket
    import time
    import urllib.request

    environ = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "LOG_FORMAT": "json",
               "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
               "LOGINGUARD_VAR_DIR": str(tmp_path)}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    lg = [sys.executable, "-m", "loginguard.cli"]
    subprocess.run([*lg, "migrate", "-v0"], env=environ, check=True, timeout=120)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*lg, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                              env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    answered = False
    try:
        deadline = time.monotonic() + 60  # a loaded CI machine starts workers slowly
        while time.monotonic() < deadline and not answered:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    answered = True
            except OSError:
                time.sleep(0.2)
    finally:
        server.terminate()
        # The stop is bounded by serve's workers_kill_timeout (20 s).
        out, err = server.communicate(timeout=60)
    assert answered, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert out == "" and lines, (out, err)
    parsed = [json.loads(line) for line in lines]  # every line one JSON object
    assert any(p["message"].startswith("loginguard serving on") for p in parsed)
    assert any(p["logger"] == "_granian" for p in parsed)  # the server's own lines too
    assert not any("tcp_migrate_req" in p["message"] and p["level"] == "WARNING"
                   for p in parsed)
    # A command's output is on stdout alone; its audit line is JSON on stderr.
    subprocess.run([*lg, "create_account", "Logs Co"], env=environ, check=True, timeout=60,
                   capture_output=True)
    made = subprocess.run([*lg, "create_user", "logan", "--email", "logan@logs.example",
                           "--account", "Logs Co", "--invite"], env=environ,
                          capture_output=True, text=True, timeout=60)
    assert made.stdout.startswith("Created") and "{" not in made.stdout
    assert all(json.loads(line) for line in made.stderr.splitlines() if line.strip())
