"""A real `loginguard serve` whose PostgreSQL and Redis connections go through switches
the test cuts: /readyz goes 503 naming the part and back to 200 on its own, pages answer
a 503 with Retry-After meanwhile (issue 15 item 1; issue 17 runs the long version)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import _database, _drop, _wait_healthy, free_port
from tests.ops.tcpswitch import TcpSwitch

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="a database outage needs a database server to cut off: runs on PostgreSQL "
           "(the CI's second run); the SQLite file cannot be made unreachable")


def get(url: str) -> tuple[int, Any, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_for(url: str, status: int, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if get(url)[0] == status:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} within {within} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, TcpSwitch, TcpSwitch]]:
    tmp: Path = tmp_path_factory.mktemp("outage")
    direct_url, name = _database(tmp)
    parts = urlsplit(direct_url)
    db_switch = TcpSwitch((parts.hostname or "127.0.0.1", parts.port or 5432))
    redis_switch = TcpSwitch(("127.0.0.1", 6379))
    switched = direct_url.replace(f"{parts.hostname}:{parts.port}",
                                  f"127.0.0.1:{db_switch.port}")
    port = free_port()
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false",
           "DATABASE_URL": switched, "BASE_URL": f"http://127.0.0.1:{port}",
           "SECURE_COOKIES": "false", "LOGINGUARD_VAR_DIR": str(tmp),
           "REDIS_URL": f"redis://127.0.0.1:{redis_switch.port}/14"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    lg = [sys.executable, "-m", "loginguard.cli"]
    subprocess.run([*lg, "migrate", "-v0"], env=env, check=True, timeout=120)
    process = subprocess.Popen([*lg, "serve", "--bind", f"127.0.0.1:{port}", "--workers",
                                "1"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}", db_switch, redis_switch
    finally:
        process.terminate()
        process.wait(timeout=10)
        db_switch.restore() if db_switch.listener is None else None
        _drop(name)


def sign_in_attempt(base: str) -> tuple[int, Any, bytes]:
    """The password step as a browser sends it (CSRF cookie and token)."""
    import http.cookiejar
    import re
    from urllib.parse import urlencode

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=15).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    data = urlencode({"csrfmiddlewaretoken": token.group(1), "username": "bob",
                      "password": "not-bobs-password-at-all"}).encode()
    request = urllib.request.Request(f"{base}/login/", data=data,
                                     headers={"Referer": f"{base}/login/"})
    try:
        with opener.open(request, timeout=15) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.parametrize("part", ["database", "redis"])
def test_an_outage_is_a_named_503_and_recovery_needs_no_operator(
        server: tuple[str, TcpSwitch, TcpSwitch], part: str) -> None:
    base, db_switch, redis_switch = server
    switch = db_switch if part == "database" else redis_switch
    assert get(f"{base}/readyz")[0] == 200
    assert sign_in_attempt(base)[0] == 200  # a wrong password: the page again
    switch.cut()
    try:
        status, headers, body = get(f"{base}/readyz")
        assert status == 503
        assert json.loads(body)["checks"][part] == "unreachable"
        assert headers["Retry-After"] == "30"
        # The password step needs both: the user in the database, the throttle in Redis
        # (which must not fail open).
        status, headers, body = sign_in_attempt(base)
        assert status == 503 and headers["Retry-After"] == "30"
        assert b"Temporarily unavailable" in body
        assert get(f"{base}/healthz")[0] == 200  # liveness: the process itself is fine
    finally:
        switch.restore()
    assert wait_for(f"{base}/readyz", 200, within=10) < 10
    assert sign_in_attempt(base)[0] == 200
