"""Forward auth's throughput against /healthz on the same server, in the same run.

    apt-get install wrk
    .venv/bin/python -m bench.forward_auth                    # SQLite
    .venv/bin/python -m bench.forward_auth --engine postgres

A user signs in (password, emailed code, "No"), then wrk (C, 1 thread, 16 connections)
drives `loginguard serve --workers 2` with that browser's session cookie and User-Agent:
`GET /auth/forward` as a reverse proxy asks it on every request to a guarded app, against
`GET /healthz`; also the anonymous 401. wrk shares the 2 cores, which lowers every number
alike, so only ratios are reported, each within one round; the median of three rounds.
Goal (issue 14): /auth/forward >= 0.5x /healthz.
"""

from __future__ import annotations

import argparse
import re
import subprocess

from bench.api_cost import CONNECTIONS
from bench.harness import PASSWORD as BENCH_PASSWORD
from bench.harness import UA, Browser, Installation, installation, seed_users


def wrk(url: str, seconds: int, *headers: str) -> tuple[float, int, int]:
    """Requests per second, requests, and how many were not 2xx or 3xx."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, total, int(refused.group(1)) if refused else 0


def signed_in_cookie(inst: Installation) -> str:
    [(username, email)] = seed_users(inst, 1, prefix="fwd")
    browser = Browser(inst.base_url)
    browser.request("/login/")
    status, location, _ = browser.post("/login/", {"username": username,
                                                   "password": BENCH_PASSWORD})
    assert location == "/login/verify/", (status, location)
    browser.post("/login/verify/", {"code": inst.sink.code_for(email)})
    status, location, _ = browser.post("/login/trust/", {"trust": "no", "device_name": ""})
    assert location == "/", (status, location)
    return next(f"{c.name}={c.value}" for c in browser.jar if c.name.endswith("lg_session"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    with installation(engine=args.engine, workers=2) as inst:
        cookie = signed_in_cookie(inst)
        assert inst.worker is not None
        inst.worker.terminate()  # its idle polling would take CPU from both sides alike
        base, headers = inst.base_url, (f"Cookie: {cookie}", f"User-Agent: {UA}")
        wrk(f"{base}/healthz", 2)
        wrk(f"{base}/auth/forward", 2, *headers)
        rounds = []
        for _ in range(3):
            healthz = wrk(f"{base}/healthz", args.seconds)[0]
            forward, _, refused = wrk(f"{base}/auth/forward", args.seconds, *headers)
            assert refused == 0, "the signed-in session was refused during the run"
            anonymous, total, refused = wrk(f"{base}/auth/forward", args.seconds,
                                            f"User-Agent: {UA}")
            assert refused == total, "an anonymous request was let through"
            rounds.append((forward / healthz, healthz, forward, anonymous / healthz))
            print(f"  /healthz {healthz:.0f}/s, /auth/forward {forward:.0f}/s "
                  f"({forward / healthz:.2f}), anonymous 401 {anonymous:.0f}/s "
                  f"({anonymous / healthz:.2f})", flush=True)
        ratio, healthz, forward, anonymous_ratio = sorted(rounds)[1]
        print(f"GET /auth/forward (signed in) {forward:.0f}/s vs /healthz {healthz:.0f}/s -> "
              f"ratio {ratio:.2f} (goal >= 0.5); anonymous 401 ratio {anonymous_ratio:.2f}; "
              f"median of 3 rounds ({args.engine})")


if __name__ == "__main__":
    main()
