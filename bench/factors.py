"""Factors beyond the mailbox (issue 27): what a sign-in costs the server, by factor, as
ratios measured in one run.

    .venv/bin/python -m bench.factors [--signins 60] [--rounds 3] [--engine sqlite|postgres]

1. "Sign in with a passkey" (GET /login/, POST the options, POST the browser's answer: a
   real ES256 assertion from the software authenticator of tests/factors/soft.py, checked
   by the ``webauthn`` package) against a trusted-device password sign-in (GET /login/,
   POST the password -> signed in). Goal: <= 0.25x the server CPU. No Argon2 at all.
2. The second step with an authenticator app's code against the emailed code's (GET
   /login/verify/, POST the code -> the trust prompt), each after the password step (not
   measured). Goal: the app <= 1.0x the emailed code.

CPU is the web server's and the worker's (psutil, /proc), per sign-in, with the rounds
alternating between the two sides of each ratio; the medians are printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import pyotp
from tests.factors.soft import SoftAuthenticator

from bench.harness import (
    PASSWORD,
    Browser,
    Installation,
    argon2_verify_cpu,
    installation,
    seed_users,
)

SEED_FACTORS = """
import base64, json, secrets
from loginguard.factors import totp
from loginguard.factors.models import AuthenticatorApp, Passkey, PasskeyUser
from loginguard.lib import clock
from loginguard.users.models import User
data = json.loads({data!r})
now = clock.now()
for row in data["passkeys"]:
    user = User.objects.get(username=row["username"])
    PasskeyUser.objects.create(user=user, handle=base64.b64decode(row["handle"]))
    Passkey.objects.create(user=user, name="Bench key", created_at=now,
                           credential_id=base64.b64decode(row["credential_id"]),
                           public_key=base64.b64decode(row["public_key"]))
for row in data["apps"]:
    user = User.objects.get(username=row["username"])
    AuthenticatorApp.objects.create(user=user, name="Bench app", created_at=now,
                                    secret=totp.encrypt(row["secret"]))
"""


def seed_factors(inst: Installation, passkeys: dict[str, SoftAuthenticator],
                 apps: dict[str, str]) -> None:
    data = {"passkeys": [{"username": name, "handle": base64.b64encode(key.user_handle).decode(),
                          "credential_id": base64.b64encode(key.credential_id).decode(),
                          "public_key": base64.b64encode(key.cose_public_key()).decode()}
                         for name, key in passkeys.items()],
            "apps": [{"username": name, "secret": secret} for name, secret in apps.items()]}
    subprocess.run([sys.executable, "-m", "loginguard.cli", "shell", "-v0", "-c",
                    SEED_FACTORS.format(data=json.dumps(data))], env=inst.env, check=True)


def passkey_signin(inst: Installation, key: SoftAuthenticator) -> None:
    b = Browser(inst.base_url)
    b.request("/login/")
    status, options = b.post_json("/login/passkey/options/", {})
    assert status == 200 and options["ok"], options
    status, answer = b.post_json("/login/passkey/", {
        "credential": key.get(options["publicKey"])})
    assert status == 200 and answer == {"ok": True, "redirect": "/"}, answer


def trusted_browsers(inst: Installation, users: list[tuple[str, str]]) -> list[Browser]:
    """Browsers that trusted themselves once (set-up, not measured)."""
    browsers = []
    for username, email in users:
        b = Browser(inst.base_url)
        b.request("/login/")
        assert b.post("/login/", {"username": username, "password": PASSWORD})[1] == \
            "/login/verify/"
        b.post("/login/verify/", {"code": inst.sink.code_for(email)})
        assert b.post("/login/trust/", {"trust": "yes", "device_name": "Bench"})[1] == "/"
        b.post("/logout/", {})
        browsers.append(b)
    return browsers


def trusted_signin(inst: Installation, b: Browser, username: str) -> None:
    b.request("/login/")
    assert b.post("/login/", {"username": username, "password": PASSWORD})[1] == "/"


def measured(inst: Installation, jobs: list[Callable[[], None]]) -> float:
    """CPU seconds of the installation per job."""
    time.sleep(1.0)  # let the worker settle
    before = inst.cpu_seconds()
    for job in jobs:
        job()
    time.sleep(0.5)
    return (inst.cpu_seconds() - before) / len(jobs)


def passkey_vs_trusted(inst: Installation, n: int, rounds: int) -> list[tuple[float, float]]:
    results = []
    for r in range(rounds):
        users = seed_users(inst, 2 * n, prefix=f"p{r}_")
        keys = {name: SoftAuthenticator(origin=inst.base_url, rp_id="localhost",
                                        synced=True, user_handle=bytes([r]) * 16 + bytes(
                                            name.encode()).ljust(16, b"_")[:16])
                for name, _ in users[:n]}
        seed_factors(inst, keys, {})
        browsers = trusted_browsers(inst, users[n:])
        passkey_cpu = measured(inst, [lambda k=key: passkey_signin(inst, k)
                                      for key in keys.values()])
        trusted_cpu = measured(inst, [lambda b=b, u=u: trusted_signin(inst, b, u)
                                      for b, (u, _) in zip(browsers, users[n:], strict=True)])
        results.append((passkey_cpu, trusted_cpu))
        print(f"  round {r + 1}: passkey {passkey_cpu * 1000:.1f} ms, trusted password "
              f"{trusted_cpu * 1000:.1f} ms per sign-in", flush=True)
    return results


def second_steps(inst: Installation, n: int, rounds: int) -> list[tuple[float, float]]:
    results = []
    for r in range(rounds):
        users = seed_users(inst, 2 * n, prefix=f"s{r}_")
        secrets_by_user = {name: pyotp.random_base32(32) for name, _ in users[:n]}
        seed_factors(inst, {}, secrets_by_user)
        app_browsers, email_browsers = [], []
        for username, _ in users[:n]:
            b = Browser(inst.base_url)
            b.request("/login/")
            assert b.post("/login/", {"username": username,
                                      "password": PASSWORD})[1] == "/login/verify/"
            app_browsers.append((b, secrets_by_user[username]))
        for username, email in users[n:]:
            b = Browser(inst.base_url)
            b.request("/login/")
            assert b.post("/login/", {"username": username,
                                      "password": PASSWORD})[1] == "/login/verify/"
            email_browsers.append((b, inst.sink.code_for(email)))

        def step(b: Browser, code: str) -> None:
            b.request("/login/verify/")
            assert b.post("/login/verify/", {"code": code})[1] == "/login/trust/"

        email_cpu = measured(inst, [lambda b=b, c=c: step(b, c) for b, c in email_browsers])
        app_cpu = measured(inst, [lambda b=b, s=s: step(b, pyotp.TOTP(s).now())
                                  for b, s in app_browsers])
        results.append((app_cpu, email_cpu))
        print(f"  round {r + 1}: app code step {app_cpu * 1000:.1f} ms, emailed code step "
              f"{email_cpu * 1000:.1f} ms", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--signins", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    hash_cpu = argon2_verify_cpu()
    print(f"one Argon2id verify (m=19 MiB, t=2, p=1): {hash_cpu * 1000:.1f} ms CPU")
    with installation(engine=args.engine, host="localhost") as inst:
        print("passkey sign-in vs trusted-device password sign-in:", flush=True)
        first = passkey_vs_trusted(inst, args.signins, args.rounds)
        print("app-code second step vs emailed-code second step:", flush=True)
        second = second_steps(inst, args.signins, args.rounds)
    ratio1 = statistics.median(p / t for p, t in first)
    ratio2 = statistics.median(a / e for a, e in second)
    print(f"passkey sign-in / trusted password sign-in CPU: {ratio1:.2f} (goal <= 0.25); "
          f"median of {args.rounds} rounds of {args.signins} ({args.engine})")
    print(f"app-code step / emailed-code step CPU:          {ratio2:.2f} (goal <= 1.0)")


if __name__ == "__main__":
    main()
