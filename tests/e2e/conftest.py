"""A real installation for the browser tests: `loginguard serve` (gunicorn) and
`loginguard worker` as subprocesses on a fresh database of the same engine as the rest of
the run, delivering to an aiosmtpd server in this process; Debian's Chromium drives it."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Debian's Chromium; Playwright's own browser download is not used. The flags keep a
    # root, offline CI machine from stalling on sandboxing and background networking.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def text(self, message: Message) -> str:
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode()
        return ""

    def wait_for(self, to: str, subject: str, after: int = 0, timeout: float = 15) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages[after:]:
                if to in str(message["To"]) and subject in str(message["Subject"]):
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no email to {to} about {subject!r} within {timeout}s")

    def code(self, to: str, after: int = 0) -> str:
        body = self.text(self.wait_for(to, "verification code", after))
        [code] = re.findall(r"(?<!\d)\d{6}(?!\d)", body)
        return code


@dataclass
class Stack:
    base_url: str
    inbox: Inbox
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env_path(self, name: str) -> Path:
        """A path under the installation's LOGINGUARD_VAR_DIR."""
        return Path(self.env["LOGINGUARD_VAR_DIR"]) / name

    def cli(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run([sys.executable, "-m", "loginguard.cli", *args], env=self.env,
                                input=stdin.encode(), capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()


def _database(tmp: Path) -> tuple[str, str | None]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp / 'e2e.sqlite3'}", None
    import psycopg

    name = f"lg_e2e_{os.getpid()}_{secrets.token_hex(3)}"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name, name


def _drop(name: str | None) -> None:
    if name is None:
        return
    import psycopg

    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _forget_throttles(env: dict[str, str]) -> None:
    """With REDIS_URL the stack's throttle counters live in Redis under its own database's
    name (throttle/counters.py): remove them with the database."""
    if not env.get("REDIS_URL"):
        return
    code = ("from loginguard.throttle import counters; s = counters.store(); "
            "keys = list(s.redis.scan_iter(match=s.prefix + '*')); "
            "keys and s.redis.delete(*keys)")
    subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-c", code], env=env,
                   capture_output=True, timeout=60, check=True)


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("loginguard serve exited early")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("loginguard serve did not become healthy in 30 s")


@contextmanager
def running_stack(tmp: Path, *, web_port: int | None = None, **settings: str) -> Iterator[Stack]:
    """`loginguard serve` and `loginguard worker` on a fresh database, with ``settings``
    added to their environment."""
    database_url, pg_name = _database(tmp)
    inbox, smtp_port = Inbox(), free_port()
    web_port = web_port or free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    direct_url = f"http://127.0.0.1:{web_port}"
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false",
           "DATABASE_URL": database_url, "BASE_URL": direct_url, "SECURE_COOKIES": "false",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port),
           "LOGINGUARD_VAR_DIR": str(tmp), **settings}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(base_url=env["BASE_URL"], inbox=inbox, env=env)
    stack.cli("migrate", "-v0")
    lg = [sys.executable, "-m", "loginguard.cli"]
    stack.processes = [
        subprocess.Popen([*lg, "serve", "--bind", f"127.0.0.1:{web_port}", "--workers", "2"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([*lg, "worker", "--interval", "0.2", "-v0"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        _wait_healthy(direct_url, stack.processes[0])
        yield stack
    finally:
        for process in stack.processes:
            process.terminate()
        for process in stack.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.stop()
        _forget_throttles(env)
        _drop(pg_name)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from tests.sso.conftest import new_pem

    tmp = tmp_path_factory.mktemp("e2e")
    (tmp / "oidc.pem").write_text(new_pem())
    with running_stack(tmp, OIDC_PRIVATE_KEY_FILE=str(tmp / "oidc.pem")) as stack:
        yield stack
