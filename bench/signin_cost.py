"""Sign-in cost against the cost of one Argon2id verify, measured in the same run.

    .venv/bin/python -m bench.signin_cost [--engine sqlite|postgres] [--signins 60]

1. Full sign-in on an untrusted device (GET /login/, POST password, GET the code page, read
   the emailed code, POST it, GET the trust prompt, POST "No", GET /): CPU seconds of the
   web server and worker processes per completed sign-in, including queueing and sending
   both emails (code + untrusted-device alert). Goal: hash >= 0.75 of it.
2. Trusted-device sign-in (GET /login/, POST password -> signed in): goal hash >= 0.85.
3. Median latency of POST /login/ (which queues the code email) with every SMTP delivery
   delayed by 500 ms, against no delay: goal <= 1.05x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench.harness import (
    PASSWORD,
    Browser,
    Installation,
    argon2_verify_cpu,
    installation,
    seed_users,
)


def wait_for_mail(inst: Installation, expected: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while inst.sink.count < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    if inst.sink.count < expected:
        raise RuntimeError(f"only {inst.sink.count}/{expected} emails arrived")
    time.sleep(1.5)  # let the worker finish its bookkeeping after the last SMTP reply


def full_signin(b: Browser, inst: Installation, user: tuple[str, str], trust: str) -> None:
    username, email = user
    b.request("/login/")
    assert b.post("/login/", {"username": username, "password": PASSWORD})[1] == "/login/verify/"
    b.request("/login/verify/")
    code = inst.sink.code_for(email)
    assert b.post("/login/verify/", {"code": code})[1] == "/login/trust/"
    b.request("/login/trust/")
    name = "Bench device" if trust == "yes" else ""
    assert b.post("/login/trust/", {"trust": trust, "device_name": name})[1] == "/"
    b.request("/")


def measure_full(inst: Installation, users: list[tuple[str, str]]) -> dict[str, float]:
    wait_for_mail(inst, 0)
    before, mails, t0 = inst.cpu_seconds(), inst.sink.count, time.monotonic()
    latencies = []
    for user in users:
        start = time.monotonic()
        full_signin(Browser(inst.base_url), inst, user, "no")
        latencies.append(time.monotonic() - start)
    wait_for_mail(inst, mails + 2 * len(users))
    elapsed = time.monotonic() - t0
    cpu = (inst.cpu_seconds() - before) / len(users)
    return {"cpu_per_signin_s": cpu, "signins_per_s": len(users) / elapsed,
            "median_latency_s": statistics.median(latencies)}


def measure_trusted(inst: Installation, users: list[tuple[str, str]]) -> dict[str, float]:
    browsers = []
    for user in users:  # set-up: trust each browser once, then log out
        b = Browser(inst.base_url)
        full_signin(b, inst, user, "yes")
        b.post("/logout/", {})
        browsers.append(b)
    wait_for_mail(inst, inst.sink.count)
    before, t0, latencies = inst.cpu_seconds(), time.monotonic(), []
    for b, (username, _) in zip(browsers, users, strict=True):
        start = time.monotonic()
        b.request("/login/")
        assert b.post("/login/", {"username": username, "password": PASSWORD})[1] == "/"
        latencies.append(time.monotonic() - start)
    time.sleep(1.5)
    elapsed = time.monotonic() - t0
    return {"cpu_per_signin_s": (inst.cpu_seconds() - before) / len(users),
            "signins_per_s": len(users) / elapsed,
            "median_latency_s": statistics.median(latencies)}


def password_step_latencies(engine: str, delay: float, count: int) -> tuple[float, float]:
    """Median POST /login/ latency on two installations running side by side, one whose
    SMTP sink delays every delivery by ``delay``: requests alternate between them, so
    both see the same machine (CPU frequency, other load) and only the delay differs."""
    with installation(engine=engine, smtp_delay=delay) as slow, \
            installation(engine=engine) as fast:
        users = {id(inst): seed_users(inst, count, prefix="lat") for inst in (slow, fast)}
        samples: dict[int, list[float]] = {id(slow): [], id(fast): []}
        for n in range(count):
            for inst in (slow, fast) if n % 2 else (fast, slow):
                username, _ = users[id(inst)][n]
                b = Browser(inst.base_url)
                b.request("/login/")
                start = time.monotonic()
                status, location, _ = b.post("/login/", {"username": username,
                                                          "password": PASSWORD})
                samples[id(inst)].append(time.monotonic() - start)
                assert location == "/login/verify/", (status, location)
                time.sleep(0.02)
        assert slow.sink.count > 0  # the delayed sink did receive the codes meanwhile
        return statistics.median(samples[id(slow)]), statistics.median(samples[id(fast)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--signins", type=int, default=60)
    parser.add_argument("--only", choices=["trusted"], help="measure one part only")
    args = parser.parse_args()
    hash_cpu = argon2_verify_cpu()
    print(f"one Argon2id verify (m=19 MiB, t=2, p=1): {hash_cpu * 1000:.1f} ms CPU")
    if args.only == "trusted":
        with installation(engine=args.engine) as inst:
            trusted = measure_trusted(inst, seed_users(inst, args.signins))
        print(f"trusted: {trusted['cpu_per_signin_s'] * 1000:.1f} ms CPU, hash share "
              f"{hash_cpu / trusted['cpu_per_signin_s']:.2f}")
        return
    with installation(engine=args.engine) as inst:
        users = seed_users(inst, 2 * args.signins)
        full = measure_full(inst, users[: args.signins])
        print(f"  full sign-in measured: {full}", flush=True)
        trusted = measure_trusted(inst, users[args.signins:])
        print(f"  trusted sign-in measured: {trusted}", flush=True)
    delayed, direct = password_step_latencies(args.engine, 0.5, 2 * args.signins)
    hash_after = argon2_verify_cpu()
    hash_cpu = (hash_cpu + hash_after) / 2
    result = {
        "engine": args.engine, "signins": args.signins, "argon2_verify_cpu_s": hash_cpu,
        "full": {**full, "hash_share": hash_cpu / full["cpu_per_signin_s"]},
        "trusted": {**trusted, "hash_share": hash_cpu / trusted["cpu_per_signin_s"]},
        "password_step_median_s": {"smtp_delay_500ms": delayed, "no_delay": direct,
                                   "ratio": delayed / direct},
    }
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"signin_{args.engine}.json").write_text(json.dumps(result, indent=2))
    print(f"full sign-in:    {full['cpu_per_signin_s'] * 1000:6.1f} ms CPU per sign-in, "
          f"hash share {result['full']['hash_share']:.2f} (goal >= 0.75), "
          f"{full['signins_per_s']:.1f}/s, median {full['median_latency_s'] * 1000:.0f} ms")
    print(f"trusted sign-in: {trusted['cpu_per_signin_s'] * 1000:6.1f} ms CPU per sign-in, "
          f"hash share {result['trusted']['hash_share']:.2f} (goal >= 0.85), "
          f"{trusted['signins_per_s']:.1f}/s, median {trusted['median_latency_s'] * 1000:.0f} ms")
    print(f"POST /login/ median: {delayed * 1000:.1f} ms with SMTP +500 ms vs "
          f"{direct * 1000:.1f} ms without: ratio {delayed / direct:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
