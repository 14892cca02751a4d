"""`make run`: migrate, load the demo, then run the web server, the worker and the demo
mail sink on http://127.0.0.1:8000 until Ctrl-C (or SIGTERM), which stops all three.

A Python supervisor rather than shell background jobs: those start with SIGINT ignored,
so Ctrl-C would leave them running and holding the ports."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LG = [str(ROOT / ".venv" / "bin" / "loginguard")]


def environment() -> dict[str, str]:
    VAR.mkdir(exist_ok=True)
    key_file = VAR / "secret_key"
    if not key_file.exists() or not key_file.read_text().strip():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return {**os.environ, "SECRET_KEY": key_file.read_text().strip(), "DEBUG": "false",
            "SECURE_COOKIES": "false", "BASE_URL": "http://127.0.0.1:8000",
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": "8025",
            "DEV_MAILBOX_DIR": str(VAR / "mailbox"),
            "DATABASE_URL": os.environ.get("DATABASE_URL",
                                           f"sqlite:///{VAR / 'loginguard.sqlite3'}")}


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    # Each child leads its own process group (the server's workers are in it too).
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    env = environment()
    for step in (["migrate", "--no-input", "-v0"], ["collectstatic", "--no-input", "-v0"],
                 ["demo"]):
        subprocess.run(LG + step, env=env, check=True, cwd=ROOT)
    # Ours, whatever was inherited (a shell may start us with SIGINT ignored).
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    commands = [["mailsink", "--port", "8025"], ["worker", "--interval", "0.5", "-v0"],
                ["serve", "--bind", "127.0.0.1:8000", "--workers", "2"]]
    children = [subprocess.Popen(LG + command, env=env, cwd=ROOT, start_new_session=True)
                for command in commands]
    print("\nloginguard is running: open http://127.0.0.1:8000/   "
          "(mailbox: /dev/mailbox/)   Ctrl-C stops it.", flush=True)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("loginguard: a process exited; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping loginguard…", flush=True)
        return 0
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
