"""granian (WSGI, what `loginguard serve` runs) against gunicorn (sync workers), two
workers each, on the same database: requests per second and server CPU per request for
/healthz and the /login/ page, driven by wrk (a C load generator) over loopback.

    apt-get install wrk
    .uv/bin/uv pip install --python .venv/bin/python gunicorn   # not a dependency
    .venv/bin/python -m bench.servers
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.harness import _wait_healthy, free_port


def cpu(pid: int) -> float:
    """The server's CPU seconds, including workers that exited (gunicorn recycles them)."""
    master = psutil.Process(pid)
    t = master.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in master.children(recursive=True):
        c = child.cpu_times()
        total += c.user + c.system
    return total


def run_wrk(url: str, seconds: int = 8) -> tuple[float, str]:
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses")
    return rps, p50


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="lg-servers-"))
    port = free_port()
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false",
           "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "SECURE_COOKIES": "false",
           "LOGINGUARD_VAR_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "loginguard.settings"}
    subprocess.run([sys.executable, "-m", "loginguard.cli", "migrate", "-v0"], env=env,
                   check=True)
    commands = {
        "gunicorn": [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2",
                     "--preload", "--bind", f"127.0.0.1:{port}",
                     "loginguard.wsgi:application"],
        "granian": [sys.executable, "-m", "loginguard.cli", "serve", "--bind",
                    f"127.0.0.1:{port}", "--workers", "2"],
    }
    for name, command in commands.items():
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}")
            for path in ["/healthz", "/login/"]:
                run_wrk(f"http://127.0.0.1:{port}{path}", 2)  # warm up
                before = cpu(server.pid)
                start = time.monotonic()
                rps, p50 = run_wrk(f"http://127.0.0.1:{port}{path}")
                used = cpu(server.pid) - before
                per = used / (rps * (time.monotonic() - start)) * 1000
                print(f"{name:<9} GET {path:<9} {rps:8.0f} req/s  p50 {p50:>8}  "
                      f"{per:.2f} ms server CPU/request")
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
