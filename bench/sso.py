"""Single sign-on's speed goals (issue 13), as ratios measured in one run.

    apt-get install wrk
    .venv/bin/python -m bench.sso                    # SQLite
    .venv/bin/python -m bench.sso --engine postgres

On one `loginguard serve --workers 2` + worker with an RS256 key and a registered client:

1. `GET /o/userinfo/` with an OIDC access token against `GET /api/v1/me` with an API token
   (wrk, 1 thread, 16 connections; median of three rounds). Goal: >= 0.8.
2. The server CPU of one code-for-tokens exchange (`POST /o/token/`, confidential client,
   PKCE, an ID token signed RS256) against one raw Argon2id verify with loginguard's
   parameters, measured in this process. Goal: <= 0.25.
3. Back-channel logout latency: 50 times a browser signs in, the app gets tokens in that
   session, and the browser logs out; the time from the logout's response to the logout
   token arriving at a local HTTP endpoint, against the worker's poll interval (the longest
   it waits without a signal; 10 s). Goal: p95 <= 2 intervals.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import secrets
import statistics
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.api_cost import TOKEN_SHELL, shell
from bench.api_cost import wrk as wrk_api
from bench.harness import (
    PASSWORD,
    Browser,
    Installation,
    argon2_verify_cpu,
    installation,
    seed_users,
)

WORKER_INTERVAL = 10.0  # `loginguard worker`'s default --interval
REDIRECT = "http://127.0.0.1:9/callback"


def make_key(directory: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    path = directory / "oidc.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


class Receiver(http.server.ThreadingHTTPServer):
    """The app's back-channel endpoint: when each logout token arrived."""

    arrived: list[float]


class Arrivals(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.arrived.append(time.monotonic())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def register(inst: Installation, backchannel: str) -> tuple[str, str]:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "loginguard.cli", "create_client", "Bench",
                          "--redirect-uri", REDIRECT, "--backchannel-logout-uri", backchannel,
                          "--allow-private-addresses"],
                         env=inst.env, capture_output=True, text=True, check=True).stdout
    values = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return values["client_id"], values["client_secret"]


def signed_in(inst: Installation, username: str, email: str) -> Browser:
    browser = Browser(inst.base_url)
    browser.request("/login/")
    status, location, _ = browser.post("/login/", {"username": username, "password": PASSWORD})
    assert location == "/login/verify/", (status, location)
    browser.post("/login/verify/", {"code": inst.sink.code_for(email)})
    status, location, _ = browser.post("/login/trust/", {"trust": "no", "device_name": ""})
    assert location == "/", (status, location)
    return browser


def code(browser: Browser, client_id: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
        "scope": "openid profile email account", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    status, location, _ = browser.request(f"/o/authorize/?{query}")
    assert status == 302 and location.startswith(REDIRECT), (status, location)
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0], verifier


def exchange(inst: Installation, client_id: str, secret: str, code_: str,
             verifier: str) -> dict[str, str]:
    body = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code_, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": client_id, "client_secret": secret}).encode()
    with urllib.request.urlopen(inst.base_url + "/o/token/", data=body, timeout=30) as r:
        return dict(json.loads(r.read()))


def wrk_bearer(url: str, seconds: int, token: str) -> float:
    return wrk_api(url, seconds, token)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--logouts", type=int, default=50)
    parser.add_argument("--exchanges", type=int, default=150,
                        help="codes exchanged for the CPU figure (default 150)")
    args = parser.parse_args()
    import tempfile

    key = make_key(Path(tempfile.mkdtemp(prefix="lg-sso-key-")))
    receiver = Receiver(("127.0.0.1", 0), Arrivals)
    receiver.arrived = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with installation(engine=args.engine, workers=2,
                      extra_env={"OIDC_PRIVATE_KEY_FILE": str(key)}) as inst:
        client_id, secret = register(
            inst, f"http://127.0.0.1:{receiver.server_port}/backchannel")
        users = seed_users(inst, args.logouts + 1, prefix="sso")
        api_token = shell(inst, TOKEN_SHELL)

        # 2. The exchange's CPU, server side (the web processes only).
        browser = signed_in(inst, *users[0])
        codes = [code(browser, client_id) for _ in range(args.exchanges + 2)]
        exchange(inst, client_id, secret, *codes.pop())  # warm both web workers' imports
        exchange(inst, client_id, secret, *codes.pop())
        before = inst.cpu_seconds()
        tokens = [exchange(inst, client_id, secret, *pair) for pair in codes]
        per_exchange = (inst.cpu_seconds() - before) / len(codes)
        argon2 = argon2_verify_cpu()
        print(f"code-for-tokens exchange {per_exchange * 1000:.1f} ms CPU vs one Argon2id "
              f"verify {argon2 * 1000:.1f} ms -> ratio {per_exchange / argon2:.2f} "
              "(goal <= 0.25)", flush=True)

        # 1. userinfo against /api/v1/me.
        access = tokens[-1]["access_token"]
        base = inst.base_url
        wrk_bearer(f"{base}/o/userinfo/", 2, access)
        wrk_bearer(f"{base}/api/v1/me", 2, api_token)
        rounds = []
        for _ in range(3):
            me = wrk_bearer(f"{base}/api/v1/me", args.seconds, api_token)
            info = wrk_bearer(f"{base}/o/userinfo/", args.seconds, access)
            rounds.append((info / me, info, me))
            print(f"  /o/userinfo/ {info:.0f}/s, /api/v1/me {me:.0f}/s ({info / me:.2f})",
                  flush=True)
        ratio, info, me = sorted(rounds)[1]
        print(f"GET /o/userinfo/ {info:.0f}/s vs GET /api/v1/me {me:.0f}/s -> ratio "
              f"{ratio:.2f} (goal >= 0.8); median of 3 rounds", flush=True)

        # 3. Back-channel logout latency.
        latencies = []
        for username, email in users[1:]:
            session = signed_in(inst, username, email)
            exchange(inst, client_id, secret, *code(session, client_id))
            waiting = len(receiver.arrived)
            session.post("/logout/", {})
            told = time.monotonic()
            deadline = told + 4 * WORKER_INTERVAL
            while len(receiver.arrived) == waiting and time.monotonic() < deadline:
                time.sleep(0.005)
            arrived = receiver.arrived[waiting:]
            latencies.append((arrived[0] - told) if arrived else float("inf"))
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"back-channel logout: median {statistics.median(latencies) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms over {len(latencies)} session ends vs the worker's "
              f"{WORKER_INTERVAL:.0f} s poll interval -> {p95 / WORKER_INTERVAL:.3f} "
              f"intervals (goal <= 2) ({args.engine})", flush=True)
    receiver.shutdown()


if __name__ == "__main__":
    main()
