"""loginguard's sign-in against django-allauth's login-by-code, side by side in one run.

    .venv/bin/python -m bench.signin_peer [--signins 60] [--rounds 3] [--idle-seconds 60]

Both sites run on SQLite with two web processes (loginguard: `loginguard serve --workers 2`
plus one `loginguard worker`; the peer: gunicorn with two sync workers, allauth's usual
deployment) and the same Argon2id parameters; each sends its email to an aiosmtpd sink in
this process. The peer is bench/peer/site in its own venv (.venv-peer, built from the pinned
bench/peer/requirements.txt on first use), never in loginguard's dependencies.

A loginguard full sign-in: GET /login/, POST the password, GET the code page, read the
emailed code, POST it, GET the trust prompt, POST "No", GET / (two emails: the code and the
untrusted-device alert). The peer's: GET /accounts/login/, POST the password, GET the code
page, POST the emailed code, GET /. Four users sign in at a time, each sign-in a new
browser and a new user. In alternating rounds:

- loginguard at full load;
- the peer at full load;
- the peer held to loginguard's rate in that round (sign-ins started on a fixed schedule).

CPU is every process of each site (web, worker) from /proc, per completed sign-in, after
the last email arrived. Also printed: the code email's latency (POST /login/ returned →
the sink has the message; p50 and p95), a trusted-device sign-in's CPU against one Argon2id
verify (hash share), and an idle worker's CPU per second with an empty queue on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from aiosmtpd.controller import Controller

from bench.harness import (
    PASSWORD,
    Browser,
    Installation,
    Sink,
    argon2_verify_cpu,
    cpu_seconds,
    free_port,
    installation,
    seed_users,
)
from bench.signin_cost import measure_trusted, wait_for_mail

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / ".venv-peer"
PEER_REQUIREMENTS = ROOT / "bench" / "peer" / "requirements.txt"
CONCURRENCY = 4


def peer_python() -> Path:
    """The peer's venv, built from the pinned requirements when missing or stale."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / "requirements.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == PEER_REQUIREMENTS.read_text():
        return python
    uv = ROOT / ".uv" / "bin" / "uv"
    print("building the peer's venv (.venv-peer) from bench/peer/requirements.txt …",
          flush=True)
    subprocess.run([str(uv), "venv", "-q", "--allow-existing", "--python", sys.executable,
                    str(PEER_VENV)], check=True)
    subprocess.run([str(uv), "pip", "install", "-q", "--python", str(python),
                    "--require-hashes", "-r", str(PEER_REQUIREMENTS)], check=True)
    stamp.write_text(PEER_REQUIREMENTS.read_text())
    return python


@dataclass
class Site:
    """What the load driver needs of either site."""

    name: str
    sink: Sink
    base_url: str
    processes: Callable[[], list[psutil.Process]]
    signin: Callable[[tuple[str, str]], float]  # returns the code email's latency
    emails_per_signin: int

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.processes())


def loginguard_site(inst: Installation) -> Site:
    def signin(user: tuple[str, str]) -> float:
        username, email = user
        b = Browser(inst.base_url)
        b.request("/login/")
        status, location, _ = b.post("/login/", {"username": username, "password": PASSWORD})
        returned = time.monotonic()
        assert location == "/login/verify/", (status, location)
        b.request("/login/verify/")
        code, arrived = inst.sink.code_and_arrival(email)
        assert b.post("/login/verify/", {"code": code})[1] == "/login/trust/"
        b.request("/login/trust/")
        assert b.post("/login/trust/", {"trust": "no", "device_name": ""})[1] == "/"
        assert b.request("/")[0] == 200
        return arrived - returned

    return Site("loginguard", inst.sink, inst.base_url, inst.processes, signin, 2)


PEER_SEED = """
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
encoded = make_password({password!r})
User.objects.bulk_create(User(username=f"p{{n}}", email=f"p{{n}}@bench.example",
    password=encoded) for n in range({count}))
"""


@contextmanager
def peer_installation(count: int, workers: int = 2) -> Iterator[Site]:
    python = peer_python()
    tmp = Path(tempfile.mkdtemp(prefix="lg-peer-"))
    sink = Sink(code_subject="Sign-In Code")
    smtp_port, web_port = free_port(), free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env = {**os.environ, "PEER_VAR_DIR": str(tmp), "PEER_SMTP_PORT": str(smtp_port),
           "SECRET_KEY": secrets.token_urlsafe(50), "PYTHONPATH": str(ROOT),
           "DJANGO_SETTINGS_MODULE": "bench.peer.site.settings"}
    subprocess.run([str(python), "-m", "django", "migrate", "-v0"], env=env, check=True)
    subprocess.run([str(python), "-m", "django", "shell", "-v0", "-c",
                    PEER_SEED.format(password=PASSWORD, count=count)], env=env, check=True)
    server = subprocess.Popen(
        [str(python), "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{web_port}", "bench.peer.site.wsgi:application"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{web_port}"

    def processes() -> list[psutil.Process]:
        parent = psutil.Process(server.pid)
        return [parent, *parent.children(recursive=True)]

    def signin(user: tuple[str, str]) -> float:
        username, email = user
        b = Browser(base_url, csrf_cookie="csrftoken")
        b.request("/accounts/login/")
        status, location, _ = b.post("/accounts/login/", {"login": username,
                                                          "password": PASSWORD})
        returned = time.monotonic()
        assert location == "/accounts/login/code/confirm/", (status, location)
        b.request("/accounts/login/code/confirm/")
        code, arrived = sink.code_and_arrival(email)
        assert b.post("/accounts/login/code/confirm/", {"code": code})[1] == "/"
        assert b.request("/")[0] == 200
        return arrived - returned

    try:
        _wait_ready(base_url + "/accounts/login/")
        yield Site("allauth", sink, base_url, processes, signin, 1)
    finally:
        server.terminate()
        server.wait(timeout=20)
        smtp.stop()


def _wait_ready(url: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def drive(site: Site, users: list[tuple[str, str]], rate: float | None = None
          ) -> dict[str, float]:
    """Sign every user in, CONCURRENCY at a time; with ``rate``, start sign-ins no faster
    than ``rate`` per second (a fixed schedule shared by the threads)."""
    mails = site.sink.count
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    queue = list(enumerate(users))
    t0 = time.monotonic()
    cpu0 = site.cpu_seconds()

    def run() -> None:
        while True:
            with lock:
                if not queue:
                    return
                n, user = queue.pop(0)
            if rate:
                delay = t0 + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            try:
                latency = site.signin(user)
            except BaseException as exc:  # report, do not hang the other threads
                errors.append(exc)
                return
            with lock:
                latencies.append(latency)

    threads = [threading.Thread(target=run) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    elapsed = time.monotonic() - t0
    expected = mails + site.emails_per_signin * len(users)
    deadline = time.monotonic() + 60
    while site.sink.count < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # the worker's bookkeeping after the last SMTP reply
    cpu = site.cpu_seconds() - cpu0
    latencies.sort()
    return {"cpu_per_signin_ms": cpu / len(users) * 1000, "signins_per_s": len(users) / elapsed,
            "code_latency_p50_ms": statistics.median(latencies) * 1000,
            "code_latency_p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000}


def idle_worker_cpu(engine: str, seconds: float) -> float:
    """ms of CPU per second an idle `loginguard worker` spends, with an empty queue."""
    with installation(engine=engine) as inst:
        assert inst.worker is not None
        time.sleep(5)  # past start-up (imports, the first housekeeping claim)
        proc = psutil.Process(inst.worker.pid)
        before = proc.cpu_times()
        time.sleep(seconds)
        after = proc.cpu_times()
        used = (after.user + after.system) - (before.user + before.system)
        return used / seconds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signins", type=int, default=60, help="sign-ins per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--trusted", type=int, default=60, help="trusted sign-ins")
    args = parser.parse_args()
    hash_ms = argon2_verify_cpu() * 1000
    print(f"one Argon2id verify (m=19 MiB, t=2, p=1): {hash_ms:.1f} ms CPU", flush=True)
    rounds: list[dict[str, dict[str, float]]] = []
    count = args.signins * args.rounds
    with installation(engine="sqlite", workers=2) as inst, \
            peer_installation(2 * count) as peer:
        lg = loginguard_site(inst)
        lg_users = seed_users(inst, count)
        peer_users = [(f"p{n}", f"p{n}@bench.example") for n in range(2 * count)]
        wait_for_mail(inst, 0)
        for r in range(args.rounds):
            batch = slice(r * args.signins, (r + 1) * args.signins)
            peer_batch = slice(2 * r * args.signins, (2 * r + 1) * args.signins)
            peer_paced = slice((2 * r + 1) * args.signins, (2 * r + 2) * args.signins)
            result = {}
            order = ["lg", "peer"] if r % 2 == 0 else ["peer", "lg"]
            for who in order:
                if who == "lg":
                    result["loginguard"] = drive(lg, lg_users[batch])
                else:
                    result["allauth"] = drive(peer, peer_users[peer_batch])
            result["allauth_at_lg_rate"] = drive(peer, peer_users[peer_paced],
                                                 rate=result["loginguard"]["signins_per_s"])
            rounds.append(result)
            print(f"  round {r + 1}: " + json.dumps(
                {k: {m: round(v, 1) for m, v in d.items()} for k, d in result.items()}),
                flush=True)
    with installation(engine="sqlite") as inst:
        trusted = measure_trusted(inst, seed_users(inst, args.trusted, prefix="t"))
    idle = {engine: idle_worker_cpu(engine, args.idle_seconds)
            for engine in ("sqlite", "postgres")}
    hash_ms = (hash_ms + argon2_verify_cpu() * 1000) / 2

    def med(who: str, metric: str) -> float:
        return statistics.median(r[who][metric] for r in rounds)

    summary = {
        "argon2_verify_ms": hash_ms,
        "rounds": rounds,
        "median": {who: {m: med(who, m) for m in rounds[0][who]} for who in rounds[0]},
        "ratio_at_load": statistics.median(
            r["loginguard"]["cpu_per_signin_ms"] / r["allauth"]["cpu_per_signin_ms"]
            for r in rounds),
        "ratio_at_same_rate": statistics.median(
            r["loginguard"]["cpu_per_signin_ms"] / r["allauth_at_lg_rate"]["cpu_per_signin_ms"]
            for r in rounds),
        "trusted": {**trusted, "hash_share": hash_ms / 1000 / trusted["cpu_per_signin_s"]},
        "idle_worker_ms_per_s": idle,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "signin_peer.json").write_text(json.dumps(summary, indent=2))
    m = summary["median"]
    print()
    print(f"{'(medians of ' + str(args.rounds) + ' rounds)':38} {'CPU/sign-in':>12} "
          f"{'sign-ins/s':>10} {'code p50':>9} {'code p95':>9}")
    for who, label in (("loginguard", "loginguard full, 4 users"),
                       ("allauth", "allauth login-by-code, 4 users"),
                       ("allauth_at_lg_rate", "allauth held to loginguard's rate")):
        p50, p95 = m[who]["code_latency_p50_ms"], m[who]["code_latency_p95_ms"]
        # allauth sends inside the request: its code arrives before the POST returns.
        latency = (f"{p50:6.0f} ms {p95:6.0f} ms" if p50 >= 0 else
                   f"{'in the request':>19}")
        print(f"{label:38} {m[who]['cpu_per_signin_ms']:9.1f} ms "
              f"{m[who]['signins_per_s']:10.1f} {latency}")
    print(f"{'loginguard trusted device':38} {trusted['cpu_per_signin_s'] * 1000:9.1f} ms "
          f"{trusted['signins_per_s']:10.1f}")
    print()
    print(f"CPU ratio at each one's load:    {summary['ratio_at_load']:.2f}  (goal <= 1.0)")
    print(f"CPU ratio at the same rate:      {summary['ratio_at_same_rate']:.2f}  (goal <= 0.8)")
    print(f"code email p50 after the POST:   {m['loginguard']['code_latency_p50_ms']:.0f} ms"
          "  (goal <= 200 ms)")
    print(f"trusted sign-in hash share:      {summary['trusted']['hash_share']:.2f}  "
          "(goal >= 0.85)")
    print(f"idle worker CPU:                 SQLite {idle['sqlite']:.1f} ms/s, PostgreSQL "
          f"{idle['postgres']:.1f} ms/s  (goal <= 5, over {args.idle_seconds:.0f} s)")


if __name__ == "__main__":
    main()
