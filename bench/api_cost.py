"""API throughput against /healthz on the same server, measured in the same run.

    apt-get install wrk
    .venv/bin/python -m bench.api_cost                    # SQLite: ratios and memory
    .venv/bin/python -m bench.api_cost --engine postgres  # adds 10^3 vs 10^6 tokens

wrk (C, 1 thread, 16 connections, so both server workers get a fair share of them) drives
`loginguard serve --workers 2` over loopback; it shares the 2 cores, which lowers every
number alike, so only ratios are reported, each taken within one round of measurements.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import urllib.request

from bench.harness import Installation, installation

TOKEN_SHELL = """
from loginguard.apitokens.services import api_token_create
from loginguard.tenancy.models import ClientAccount
from loginguard.actions.users import user_create
account = ClientAccount.objects.create(name="Bench API")
user = user_create(username="benchapi", email="b@api.example", account=account,
                   password="bench-api-passphrase-1")
print(api_token_create(user=user, name="bench", days=7)[1])
"""

# Bulk rows with precomputed hashes: no password hashing, no Python loop.
SEED_SQL = """
INSERT INTO users_user (password, username, username_key, email, first_name, last_name,
    phone, time_zone, kind, account_id, is_client_admin, is_active, date_joined,
    notify_new_device, notify_password_changed, notify_token_created, notify_code_lockout)
SELECT '!', 'seed' || g, 'seed' || g, 'seed' || g || '@seed.example', '', '', '', 'UTC',
       'client', (SELECT id FROM tenancy_clientaccount WHERE name = 'Bench API'), false,
       true, now(), true, true, true, true
FROM generate_series(1, {n}) AS g;
INSERT INTO apitokens_apitoken (user_id, name, token_hash, display_prefix, created_at,
    expires_at)
SELECT u.id, 'seed', encode(sha256(('seed-token-' || u.id)::bytea), 'hex'), 'lgp_seed',
       now(), now() + interval '30 days'
FROM users_user u WHERE u.username_key LIKE 'seed%';
"""
# Settle the tables before measuring: without this, autovacuum starts on a million fresh
# rows during the measurement and takes CPU from the server (seen: ratio 0.42 vs 0.9+).
SETTLE_SQL = ["VACUUM ANALYZE users_user", "VACUUM ANALYZE apitokens_apitoken"]


CONNECTIONS = 16


def wrk(url: str, seconds: int, token: str | None = None) -> tuple[float, int]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, total


def shell(inst: Installation, code: str) -> str:
    return subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-c", code],
                          env=inst.env, capture_output=True, text=True, check=True
                          ).stdout.strip().splitlines()[-1]


def seed(inst: Installation, rows: int) -> None:
    import psycopg

    with psycopg.connect(inst.env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(SEED_SQL.format(n=rows))  # type: ignore[arg-type]
        for statement in SETTLE_SQL:
            conn.execute(statement)  # type: ignore[arg-type]


def ratios(inst: Installation, token: str, seconds: int, rounds: int = 3
           ) -> dict[str, float]:
    """Rounds of (healthz, me, bad checksum), each ratio taken within its round; the median
    round is reported, so a slow moment of the shared machine shifts one round, not the
    result."""
    base = inst.base_url
    wrk(f"{base}/healthz", 2)
    wrk(f"{base}/api/v1/me", 2, token)
    bad = token[:-1] + ("A" if token[-1] != "A" else "B")
    results: list[dict[str, float]] = []
    for _ in range(rounds):
        healthz = wrk(f"{base}/healthz", seconds)[0]
        me = wrk(f"{base}/api/v1/me", seconds, token)[0]
        bad_rps = wrk(f"{base}/api/v1/me", seconds, bad)[0]
        results.append({"healthz": healthz, "me": me, "bad_checksum": bad_rps,
                        "me_ratio": me / healthz, "bad_ratio": bad_rps / healthz})
    median = {key: sorted(r[key] for r in results)[rounds // 2] for key in results[0]}
    return median


def memory(inst: Installation, token: str, requests: int) -> tuple[list[int], list[int], int]:
    request = urllib.request.Request(inst.base_url + "/api/v1/me",
                                     headers={"Authorization": f"Bearer {token}"})
    for _ in range(1000):
        urllib.request.urlopen(request).read()
    first = inst.rss_bytes()
    done = 1000
    while done < requests:
        _, total = wrk(inst.base_url + "/api/v1/me", 20, token)
        done += total
    time.sleep(1)
    return first, inst.rss_bytes(), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args()
    with installation(engine=args.engine, workers=2, with_worker=False) as inst:
        token = shell(inst, TOKEN_SHELL)
        r = ratios(inst, token, args.seconds)
        print(f"GET /healthz {r['healthz']:.0f}/s; GET /api/v1/me {r['me']:.0f}/s -> ratio "
              f"{r['me_ratio']:.2f} (goal >= 0.6); bad checksum {r['bad_checksum']:.0f}/s "
              f"-> ratio {r['bad_ratio']:.2f} (goal >= 0.9); medians of 3 rounds",
              flush=True)
        first, last, done = memory(inst, token, args.memory_requests)
        growth = [b / a for a, b in zip(first, last, strict=False)]
        print(f"worker RSS after 1,000 requests {[a // 2**20 for a in first]} MiB, after "
              f"{done:,}: {[b // 2**20 for b in last]} MiB -> ratio "
              f"{max(growth):.3f} (goal <= 1.10)", flush=True)
    if args.engine != "postgres":
        return
    # Both sizes installed side by side, measured in turns (small, big, small, big, ...):
    # each pair sees the same machine, and the median ratio is reported.
    with installation(engine="postgres", workers=2, with_worker=False) as small, \
            installation(engine="postgres", workers=2, with_worker=False) as big:
        tokens = {}
        for inst, rows in ((small, 1_000), (big, args.big)):
            tokens[id(inst)] = shell(inst, TOKEN_SHELL)
            started = time.monotonic()
            seed(inst, rows)
            print(f"seeded {rows:,} users and tokens in {time.monotonic() - started:.0f} s",
                  flush=True)
            wrk(f"{inst.base_url}/api/v1/me", 3, tokens[id(inst)])
        pairs = []
        for _ in range(3):
            small_rps = wrk(f"{small.base_url}/api/v1/me", args.seconds, tokens[id(small)])[0]
            big_rps = wrk(f"{big.base_url}/api/v1/me", args.seconds, tokens[id(big)])[0]
            pairs.append((big_rps / small_rps, small_rps, big_rps))
            print(f"  1,000: {small_rps:.0f}/s, {args.big:,}: {big_rps:.0f}/s", flush=True)
    ratio, small_rps, big_rps = sorted(pairs)[1]
    print(f"GET /api/v1/me with {args.big:,} tokens {big_rps:.0f}/s vs 1,000 "
          f"{small_rps:.0f}/s -> ratio {ratio:.2f} (median of 3 pairs; goal >= 0.9)")


if __name__ == "__main__":
    main()
