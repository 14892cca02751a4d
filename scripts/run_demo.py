"""`make run`: migrate, load the demo, then run the web server, the worker and the demo
mail sink on http://localhost:8000 until Ctrl-C (or SIGTERM), which stops all three.
When nginx is installed, a sample page guarded by forward auth runs on
http://localhost:8080/ too (docs/forward-auth.md).

``localhost``, not 127.0.0.1: browsers treat it as a secure context, and WebAuthn refuses
an IP address as relying party, so passkeys work in the demo only under a host name.

A Python supervisor rather than shell background jobs: those start with SIGINT ignored,
so Ctrl-C would leave them running and holding the ports."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
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
    demo = {"SECRET_KEY": key_file.read_text().strip(), "DEBUG": "false",
            "OIDC_PRIVATE_KEY_FILE": str(signing_key()),
            "SECURE_COOKIES": "false", "BASE_URL": "http://localhost:8000",
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": "8025",
            "DEV_MAILBOX_DIR": str(VAR / "mailbox"),
            # The forward-auth sample (nginx on :8080, same host: cookies ignore ports).
            "TRUSTED_PROXIES": "127.0.0.1", "FORWARD_AUTH_HOSTS": "localhost",
            "DATABASE_URL": os.environ.get("DATABASE_URL",
                                           f"sqlite:///{VAR / 'loginguard.sqlite3'}")}
    # The same settings for the CLI while the demo runs:
    #   LOGINGUARD_ENV_FILE=var/demo.env .venv/bin/loginguard unlock_user bob
    env_file = VAR / "demo.env"
    env_file.write_text("# Written by `make run`: the demo's settings, for the CLI.\n"
                        + "".join(f"{key}={value}\n" for key, value in demo.items()))
    env_file.chmod(0o600)
    return {**os.environ, **demo}


def signing_key() -> Path:
    """A demo RS256 key for ID and logout tokens (production: docs/sso.md)."""
    pem = VAR / "oidc.pem"
    if not pem.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        pem.chmod(0o600)
    return pem


ACME = "http://127.0.0.1:8001"


def example_app(env: dict[str, str]) -> list[str]:
    """Acme Campaigns (examples/acme_campaigns), registered once as a platform-wide
    client; its id and secret are kept in var/acme_client.json."""
    saved = VAR / "acme_client.json"
    if not saved.exists():
        # On this machine: the operator's flag for loopback addresses (docs/sso.md).
        out = subprocess.run([*LG, "create_client", "Acme Campaigns", "--redirect-uri",
                              f"{ACME}/oidc/callback/", "--backchannel-logout-uri",
                              f"{ACME}/backchannel-logout/", "--allow-private-addresses"],
                             env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        values = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
        saved.write_text(json.dumps({"client_id": values["client_id"],
                                     "client_secret": values["client_secret"]}))
        saved.chmod(0o600)
    client = json.loads(saved.read_text())
    env.update({"ACME_CLIENT_ID": client["client_id"],
                "ACME_CLIENT_SECRET": client["client_secret"],
                "ACME_ISSUER": "http://localhost:8000", "ACME_BASE_URL": ACME,
                "ACME_VAR_DIR": str(VAR / "acme"), "PYTHONPATH": str(ROOT)})
    # One thread: a demo app with one user (granian would otherwise allow 512 and warn).
    return [str(ROOT / ".venv" / "bin" / "granian"), "--interface", "wsgi", "--host",
            "127.0.0.1", "--port", "8001", "--workers", "1", "--blocking-threads", "1",
            "--log-level", "warning", "examples.acme_campaigns.app:application"]


SAMPLE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sample app behind loginguard</title></head><body style="font-family:sans-serif">
<h1>A sample app guarded by loginguard</h1>
<p>nginx let you in after asking <code>/auth/forward</code>. It passed these headers on:</p>
<ul><li>X-Auth-User: <!--# echo var="auth_user" default="" --></li>
<li>X-Auth-Email: <!--# echo var="auth_email" default="" --></li>
<li>X-Auth-Account: <!--# echo var="auth_account" default="" --></li>
<li>X-Auth-Role: <!--# echo var="auth_role" default="" --></li></ul>
<p><a href="http://localhost:8000/">Back to loginguard</a> (log out there).</p>
</body></html>
"""

SAMPLE_SERVER = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body; proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    default_type text/html;
    server {{
        listen 127.0.0.1:8080;
        location = /_loginguard {{
            internal;
            proxy_pass http://127.0.0.1:8000/auth/forward;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
        location / {{
            auth_request /_loginguard;
            auth_request_set $loginguard_location $upstream_http_location;
            error_page 401 =302 $loginguard_location;
            auth_request_set $auth_user $upstream_http_x_auth_user;
            auth_request_set $auth_email $upstream_http_x_auth_email;
            auth_request_set $auth_account $upstream_http_x_auth_account;
            auth_request_set $auth_role $upstream_http_x_auth_role;
            root {d}/html;
            ssi on;
        }}
    }}
}}
"""


def forward_auth_sample() -> list[str] | None:
    """nginx serving a sample page behind /auth/forward, or None without nginx."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        return None
    directory = VAR / "nginx"
    (directory / "html").mkdir(parents=True, exist_ok=True)
    (directory / "html" / "index.html").write_text(SAMPLE_PAGE)
    (directory / "nginx.conf").write_text(SAMPLE_SERVER.format(d=directory))
    return [nginx, "-p", str(directory), "-c", str(directory / "nginx.conf")]


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
    commands = [["mailsink", "--port", "8025"], ["worker", "-v0"],
                ["serve", "--bind", "127.0.0.1:8000", "--workers", "2"]]
    children = [subprocess.Popen(LG + command, env=env, cwd=ROOT, start_new_session=True)
                for command in commands]
    acme_env = dict(env)
    children.append(subprocess.Popen(example_app(acme_env), env=acme_env, cwd=ROOT,
                                     start_new_session=True))
    sample = forward_auth_sample()
    if sample is not None:
        children.append(subprocess.Popen(sample, cwd=ROOT, start_new_session=True))
    print("\nloginguard is running: open http://localhost:8000/   "
          "(mailbox: /dev/mailbox/)   Ctrl-C stops it.", flush=True)
    print(f"An app that signs in with loginguard (OpenID Connect): {ACME}/", flush=True)
    if sample is not None:
        print("A sample app guarded by forward auth (nginx): http://localhost:8080/",
              flush=True)
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
