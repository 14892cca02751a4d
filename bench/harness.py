"""A real installation for benchmarks: `loginguard serve` and `loginguard worker` as
subprocesses on a fresh database, an aiosmtpd sink in this process (optionally delaying
every delivery), users seeded through the ORM with one precomputed hash, and CPU
accounting of the server and worker processes from /proc via psutil."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psutil
from aiosmtpd.controller import Controller

PASSWORD = "bench-correct-horse-battery"
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """An SMTP server that keeps the 6-digit code of every code email (a subject matching
    ``code_subject``) and when it arrived (``time.monotonic()`` at DATA)."""

    def __init__(self, delay: float = 0.0, code_subject: str = "verification code") -> None:
        self.delay = delay
        self.code_subject = code_subject
        self.codes: dict[str, list[tuple[str, float]]] = {}
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        arrived = time.monotonic()
        message = message_from_bytes(envelope.content)
        self.count += 1
        if self.code_subject in str(message["Subject"]):
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    body = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
                    [code] = re.findall(r"(?<!\d)\d{6}(?!\d)", body)
                    self.codes.setdefault(str(message["To"]), []).append((code, arrived))
        return "250 OK"

    def code_for(self, address: str, timeout: float = 30) -> str:
        return self.code_and_arrival(address, timeout)[0]

    def code_and_arrival(self, address: str, timeout: float = 30) -> tuple[str, float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.codes.get(address):
                return self.codes[address].pop()
            time.sleep(0.002)
        raise RuntimeError(f"no code for {address}")


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of these processes so far (gone ones count nothing)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass
class Installation:
    base_url: str
    env: dict[str, str]
    sink: Sink
    server: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes] | None
    tmp: Path
    pg_name: str | None = None
    _smtp: Controller | None = field(default=None, repr=False)

    def processes(self) -> list[psutil.Process]:
        procs = [psutil.Process(self.server.pid)]
        procs += procs[0].children(recursive=True)
        if self.worker is not None:
            procs.append(psutil.Process(self.worker.pid))
        return procs

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.processes())

    def rss_bytes(self) -> list[int]:
        return [p.memory_info().rss for p in psutil.Process(self.server.pid).children()]


def _database(tmp: Path, engine: str) -> tuple[str, str | None]:
    if engine == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}", None
    import psycopg

    name = f"lg_bench_{secrets.token_hex(4)}"
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}", name


@contextmanager
def installation(*, engine: str = "sqlite", workers: int = 1, smtp_delay: float = 0.0,
                 with_worker: bool = True, extra_env: dict[str, str] | None = None,
                 host: str = "127.0.0.1") -> Iterator[Installation]:
    """``host``: the name in BASE_URL (``localhost`` for passkeys, which refuse an IP)."""
    tmp = Path(tempfile.mkdtemp(prefix="lg-bench-"))
    database_url, pg_name = _database(tmp, engine)
    sink = Sink(smtp_delay)
    smtp_port, web_port = free_port(), free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false",
           "DATABASE_URL": database_url, "BASE_URL": f"http://{host}:{web_port}",
           "SECURE_COOKIES": "false", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port),
           "LOGINGUARD_VAR_DIR": str(tmp), **(extra_env or {})}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    lg = [sys.executable, "-m", "loginguard.cli"]
    subprocess.run([*lg, "migrate", "-v0"], env=env, check=True)
    server = subprocess.Popen([*lg, "serve", "--bind", f"127.0.0.1:{web_port}",
                               "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([*lg, "worker", "-v0"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) if with_worker else None
    inst = Installation(f"http://{host}:{web_port}", env, sink, server, worker, tmp,
                        pg_name, smtp)
    try:
        _wait_healthy(inst.base_url)
        yield inst
    finally:
        for proc in (server, worker):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
        smtp.stop()
        if pg_name:
            import psycopg

            with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres",
                                 autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _wait_healthy(base_url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as r:
                if r.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self, base_url: str, user_agent: str = UA, csrf_cookie: str = "lg_csrf"
                 ) -> None:
        self.base_url = base_url
        self.csrf_cookie = csrf_cookie
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.opener.addheaders = [("User-Agent", user_agent)]

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base_url + path, data=body)
        if body is not None:
            req.add_header("Referer", self.base_url + path)
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.headers.get("Location", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location", ""), e.read().decode()

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == self.csrf_cookie)

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        return self.request(path, {"csrfmiddlewaretoken": self.csrf(), **data})

    def post_json(self, path: str, body: object) -> tuple[int, Any]:
        """A JSON POST as the pages' script sends it (the CSRF token in X-CSRFToken)."""
        req = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              "X-CSRFToken": self.csrf()})
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


SEED = """
from django.contrib.auth.hashers import make_password
from loginguard.tenancy.models import ClientAccount
from loginguard.users.models import User
account, _ = ClientAccount.objects.get_or_create(name="Bench {prefix}")
encoded = make_password({password!r})
User.objects.bulk_create((User(username=f"{prefix}{{n}}", username_key=f"{prefix}{{n}}",
    email=f"{prefix}{{n}}@bench.example", kind="client", account=account, password=encoded)
    for n in range({count})), batch_size=5000)
"""


def seed_users(inst: Installation, count: int, prefix: str = "u") -> list[tuple[str, str]]:
    """``count`` client users sharing one precomputed password hash (no hashing per user),
    written by a `loginguard shell` against the installation's own database."""
    code = SEED.format(prefix=prefix, password=PASSWORD, count=count)
    subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-v0", "-c", code],
                   env=inst.env, check=True)
    return [(f"{prefix}{n}", f"{prefix}{n}@bench.example") for n in range(count)]


def argon2_verify_cpu(samples: int = 40) -> float:
    """CPU seconds of one raw Argon2id verify with loginguard's parameters."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    encoded = hasher.hash(PASSWORD)
    hasher.verify(encoded, PASSWORD)  # warm up
    start = time.process_time()
    for _ in range(samples):
        hasher.verify(encoded, PASSWORD)
    return (time.process_time() - start) / samples
