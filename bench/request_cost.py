"""CPU seconds per request of a few endpoints on the real server (diagnostics).

    .venv/bin/python -m bench.request_cost [--engine sqlite|postgres]
"""

from __future__ import annotations

import argparse

from bench.harness import Browser, installation


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with installation(engine=args.engine, with_worker=False) as inst:
        b = Browser(inst.base_url)
        for path in ["/healthz", "/login/", "/about/"]:
            for _ in range(20):
                b.request(path)
            before = inst.cpu_seconds()
            for _ in range(args.requests):
                b.request(path)
            per = (inst.cpu_seconds() - before) / args.requests
            print(f"GET {path:<10} {per * 1000:6.2f} ms CPU per request")


if __name__ == "__main__":
    main()
