"""Does /password/reset/ take the same time whether or not the address exists? (issue 11,
review finding 3)

    .venv/bin/python -m bench.reset_timing [--engine sqlite|postgres] [--pairs 50]

Starts a real installation (`loginguard serve` + worker, aiosmtpd sink), seeds users, then
POSTs the reset form alternately for a known address and an unknown one, each request from
its own client IP (sent as X-Forwarded-For by 127.0.0.1, listed in TRUSTED_PROXIES, so the
per-IP budget does not cut the run short) and each address once (the per-address budget).
Prints the median wall time of each kind and how often the best single threshold between
them would tell a known address from an unknown one (0.5 = a coin toss).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.harness import Browser, installation, seed_users


def classify_rate(known: list[float], unknown: list[float]) -> float:
    """Accuracy of the best threshold "slower than t means known" over both samples."""
    best = 0.5
    for t in sorted(known + unknown):
        right = sum(k > t for k in known) + sum(u <= t for u in unknown)
        best = max(best, right / (len(known) + len(unknown)))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pairs", type=int, default=50)
    args = parser.parse_args()
    with installation(engine=args.engine, extra_env={"TRUSTED_PROXIES": "127.0.0.1/32"}
                      ) as inst:
        users = seed_users(inst, args.pairs)
        browser = Browser(inst.base_url)
        browser.request("/password/reset/")  # the CSRF cookie
        for n in range(5):  # warm the worker process's caches and connections
            browser.post("/password/reset/", {"email": f"warm{n}@bench.example"})
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        for n in range(args.pairs):
            for kind, address in (("known", users[n][1]),
                                  ("unknown", f"nobody{n}@bench.example")):
                browser.opener.addheaders = [("User-Agent", "bench"), (
                    "X-Forwarded-For", f"10.{n // 200}.{n % 200}.{1 if kind == 'known' else 2}")]
                start = time.perf_counter()
                status, _, _ = browser.post("/password/reset/", {"email": address})
                times[kind].append(time.perf_counter() - start)
                assert status == 302, status  # to the "check your email" page
        known, unknown = times["known"], times["unknown"]
        print(f"engine {args.engine}, {args.pairs} + {args.pairs} requests, alternating")
        print(f"median known   {statistics.median(known) * 1000:6.2f} ms")
        print(f"median unknown {statistics.median(unknown) * 1000:6.2f} ms")
        print(f"best single-threshold classification: {classify_rate(known, unknown):.2f} "
              "(0.50 = chance)")
        deadline = time.monotonic() + 30
        while inst.sink.count < args.pairs and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"reset emails delivered by the worker: {inst.sink.count} "
              f"(expected {args.pairs})")


if __name__ == "__main__":
    main()
