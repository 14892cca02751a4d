"""The runbooks of docs/operations.md, run as written: backup and restore (SQLite online,
pg_dump), SECRET_KEY rotation (what survives and what does not), the systemd units and
the Containerfile (issue 15 item 6)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loginguard.apitokens.auth import token_authenticate
from loginguard.apitokens.services import api_token_create
from loginguard.lib.tokens import invitation_tokens, password_reset_tokens
from tests.conftest import Personas, Visitor, last_code

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()


def block(name: str) -> str:
    """The ```sh block after ``<!-- runbook:NAME -->`` in docs/operations.md."""
    marker = DOC.index(f"<!-- runbook:{name} -->")
    match = re.search(r"```sh\n(.*?)```", DOC[marker:], re.S)
    assert match, name
    return match.group(1)


def run_block(name: str, **variables: str) -> None:
    """The block with its own variable lines replaced by ours and /opt/loginguard/bin by
    this virtualenv."""
    lines = [line for line in block(name).splitlines()
             if not any(line.startswith(f"{var}=") for var in variables)]
    script = "\n".join(lines).replace("/opt/loginguard/bin/", f"{Path(sys.executable).parent}/")
    env = {**os.environ, **variables}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (name, result.stderr)


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    result = subprocess.run([sys.executable, "-m", "loginguard.cli", *args], env=env,
                            input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sqlite_online_backup_and_restore(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.e2e.conftest import running_stack

    tmp = tmp_path_factory.mktemp("sqlite-runbook")
    db = tmp / "loginguard.sqlite3"
    backup = tmp / "backup.sqlite3"
    with running_stack(tmp, DATABASE_URL=f"sqlite:///{db}") as stack:
        stack.cli("create_account", "Backup Co")
        stack.cli("create_user", "kept", "--email", "kept@b.example", "--account",
                  "Backup Co", "--password-stdin", stdin="kept-long-passphrase-1\n")
        run_block("sqlite-backup", DB=str(db), BACKUP=str(backup))  # while it serves
        stack.cli("create_user", "late", "--email", "late@b.example", "--account",
                  "Backup Co", "--password-stdin", stdin="late-long-passphrase-1\n")
        env = stack.env
    run_block("sqlite-restore", DB=str(db), BACKUP=str(backup))
    users = cli(env, "list_users")
    assert "kept" in users and "late" not in users
    assert "1 user(s)." in users


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="pg_dump and pg_restore need PostgreSQL: the CI's second run")
def test_postgres_dump_and_restore(tmp_path: Path) -> None:
    from tests.e2e.conftest import _database, _drop

    url, name = _database(tmp_path)
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    try:
        cli(env, "migrate", "-v0")
        cli(env, "create_account", "Before Backup")
        dump = tmp_path / "loginguard.dump"
        script_env = {"DATABASE_URL": url}
        run_block_with_path("pg-backup", dump, script_env)
        cli(env, "create_account", "After Backup")
        run_block_with_path("pg-restore", dump, script_env)
        accounts = cli(env, "shell", "--no-imports", "-c", "from loginguard.tenancy.models import "
                       "ClientAccount; print(sorted(ClientAccount.objects.values_list("
                       "'name', flat=True)))")
        assert "['Before Backup']" in accounts
    finally:
        _drop(name)


def run_block_with_path(name: str, dump: Path, env: dict[str, str]) -> None:
    script = block(name).replace("/var/backups/loginguard.dump", str(dump))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                            env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, (name, result.stderr)


@pytest.mark.django_db
def test_rotating_secret_key_with_and_without_the_fallback(personas: Personas,
                                                           settings: Any) -> None:
    from loginguard.signin.models import UserSession
    from loginguard.signin.sessions import sessions_end_all

    user = personas.member
    browser = Visitor()
    browser.sign_in(user, trust="yes")  # a session and a trusted device
    idle = Visitor(ip="198.51.100.77")
    idle.sign_in(personas.admin)  # a session nobody uses during the rotation
    reset_link = password_reset_tokens.make_token(user)
    invitation = invitation_tokens.make_token(user)
    _, api_token = api_token_create(user=user, name="ci", days=7)
    pending = Visitor(ip="198.51.100.78")
    pending.password(user.username)  # a code on its way
    code = last_code(user.email)

    # 1. New key, old one as the fallback.
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = (secrets.token_urlsafe(50),
                                                          [settings.SECRET_KEY])
    assert browser.signed_in_as() == "bob"  # the session survives (Django re-signs it)
    key = browser.client.cookies[settings.SESSION_COOKIE_NAME].value
    assert UserSession.objects.filter(session_key=key).exists()  # the list follows it
    assert password_reset_tokens.check_token(user, reset_link)
    assert invitation_tokens.check_token(user, invitation)
    assert token_authenticate(api_token, ip="198.51.100.23") is not None
    # A sign-in half-way through the code step starts again at the password (its
    # binding and the code's HMAC were keyed with the old key).
    assert pending.code(code).headers["Location"] == "/login/"

    # 2. The fallback removed.
    settings.SECRET_KEY_FALLBACKS = []
    assert browser.signed_in_as() == "bob"  # it was used (and re-signed) in time
    assert idle.signed_in_as() is None  # it was not
    assert not password_reset_tokens.check_token(user, reset_link)
    assert not invitation_tokens.check_token(user, invitation)
    assert token_authenticate(api_token, ip="198.51.100.23") is not None  # SHA-256
    browser.post("/logout/")
    assert browser.password(user.username).headers["Location"] == "/"  # trusted device
    assert sessions_end_all(user=user) == 1  # a re-signed session is found and ended
    assert browser.signed_in_as() is None

    # 3. A rotation without the fallback (after a leak): everyone signs in again.
    browser.password(user.username)
    assert browser.signed_in_as() == "bob"
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    assert browser.signed_in_as() is None


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    units = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    assert [u.name for u in units] == ["loginguard-web.service", "loginguard-worker.service"]
    if subprocess.run(["which", "systemd-analyze"], capture_output=True).returncode:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    binary = Path(sys.executable).parent / "loginguard"
    for unit in units:
        text = unit.read_text()
        assert "ExecStart=/opt/loginguard/bin/loginguard " in text
        assert "User=loginguard" in text and "EnvironmentFile=/etc/loginguard/env" in text
        (tmp_path / unit.name).write_text(text.replace("/opt/loginguard/bin/loginguard",
                                                       str(binary)))
    verified = subprocess.run(["systemd-analyze", "verify",
                               *(str(tmp_path / u.name) for u in units)],
                              capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stderr
    # The check can fail: a unit with a relative ExecStart does.
    broken = tmp_path / "broken.service"
    broken.write_text((tmp_path / units[0].name).read_text().replace(
        f"ExecStart={binary}", "ExecStart=loginguard-nowhere"))
    assert subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True,
                          timeout=60).returncode != 0
    # Their commands are the CLI's.
    assert "serve" in cli_help("serve") and "worker" in cli_help("worker")


def cli_help(command: str) -> str:
    env = {**os.environ}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("SECRET_KEY", None)
    return subprocess.run([sys.executable, "-m", "loginguard.cli", command, "--help"],
                          env=env, capture_output=True, text=True, timeout=60).stdout


def test_the_containerfile_copies_what_exists_and_runs_as_non_root() -> None:
    text = (ROOT / "deploy" / "Containerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["loginguard"]' in text
    assert 'CMD ["serve", "--bind", "0.0.0.0:8000"' in text
    assert "uv sync --frozen --no-dev" in text  # exactly the locked versions
    assert "loginguard worker" in text  # the second command is documented in the file


def fenced(name: str, language: str) -> str:
    marker = DOC.index(f"<!-- runbook:{name} -->")
    match = re.search(rf"```{language}\n(.*?)```", DOC[marker:], re.S)
    assert match, name
    return match.group(1)


def test_the_settings_file_is_what_the_cli_reads(tmp_path: Path) -> None:
    """Issue 28: a KEY=value file sourced by a shell broke at DEFAULT_FROM_EMAIL and the
    commands after it ran with defaults. The documented file, read by the CLI itself."""
    from tests.sso.conftest import new_pem

    script = fenced("settings-file", "sh")
    body = re.search(r"<<'EOF'\n(.*?)\nEOF", script, re.S)
    assert body, script
    (tmp_path / "oidc.pem").write_text(new_pem())
    ours = {"SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "OIDC_PRIVATE_KEY_FILE": str(tmp_path / "oidc.pem")}
    lines = [f"{line.split('=', 1)[0]}={ours[line.split('=', 1)[0]]}"
             if line.split("=", 1)[0] in ours else line
             for line in body.group(1).splitlines() if not line.startswith("REDIS_URL=")]
    settings_file = tmp_path / "env"
    settings_file.write_text("\n".join(lines) + "\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DATABASE_URL",
                          "REDIS_URL", "LOG_FORMAT", "LOGINGUARD_VAR_DIR")}
    env["LOGINGUARD_ENV_FILE"] = str(settings_file)

    def run(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "loginguard.cli", *args], cwd=tmp_path,
                              env={**env, **(extra or {})}, capture_output=True, text=True,
                              timeout=120)

    assert run("migrate", "-v0").returncode == 0
    collected = run("collectstatic", "--no-input", "-v0")
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "var" / "static" / "loginguard" / "app.css").exists()
    shown = run("shell", "--no-imports", "-c", "from django.conf import settings; "
                "print(settings.DEFAULT_FROM_EMAIL, settings.BASE_URL, settings.LOG_FORMAT)")
    assert shown.stdout.strip() == "loginguard <no-reply@example.com> " \
        "https://login.example.com json", shown.stderr
    # --env-file does the same, and the process's own environment wins over the file.
    env.pop("LOGINGUARD_ENV_FILE")
    again = subprocess.run([sys.executable, "-m", "loginguard.cli", "--env-file",
                            str(settings_file), "shell", "--no-imports", "-c",
                            "from django.conf import settings; print(settings.LOG_FORMAT)"],
                           cwd=tmp_path, env={**env, "LOG_FORMAT": "text"},
                           capture_output=True, text=True, timeout=120)
    assert again.stdout.strip() == "text", again.stderr
    # A line that is not KEY=value stops the command, naming the line.
    settings_file.write_text(settings_file.read_text() + "this is not a setting\n")
    broken = run("migrate", extra={"LOGINGUARD_ENV_FILE": str(settings_file)})
    assert broken.returncode == 2
    assert f"line {len(lines) + 1}" in broken.stderr and "not KEY=value" in broken.stderr
    missing = run("migrate", extra={"LOGINGUARD_ENV_FILE": str(tmp_path / "nowhere")})
    assert missing.returncode == 2 and "cannot read it" in missing.stderr


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="the role and database statements need PostgreSQL: the CI's "
                           "second run")
def test_the_postgres_role_runbook(tmp_path: Path) -> None:
    import psycopg

    suffix = secrets.token_hex(4)
    role, database, password = f"lg_role_{suffix}", f"lg_db_{suffix}", "a-long-random-password"
    sql = fenced("postgres-role", "sql").replace("ROLE loginguard", f"ROLE {role}").replace(
        "DATABASE loginguard OWNER loginguard", f"DATABASE {database} OWNER {role}")
    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        for statement in filter(None, (s.strip() for s in sql.split(";"))):
            connection.execute(statement)  # type: ignore[arg-type]
    try:
        url = f"postgres://{role}:{password}@127.0.0.1:5432/{database}"
        assert "DATABASE_URL=postgres://loginguard:a-long-random-password@" in DOC
        env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": url}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("REDIS_URL", None)
        cli(env, "migrate", "-v0")
        assert "0 user(s)." in cli(env, "list_users")
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            connection.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_systemd_install_block_creates_the_folder_and_readable_files(
        tmp_path: Path) -> None:
    """Issue 28: `install … /etc/loginguard/env` failed without the folder, and the key was
    readable by root only while the services run as loginguard. The block's install lines,
    run into a temporary /etc with this user's group standing in for loginguard's."""
    import grp
    import stat

    group = grp.getgrgid(os.getgid()).gr_name
    (tmp_path / "loginguard.env").write_text("SECRET_KEY=x\n")
    (tmp_path / "oidc.pem").write_text("key\n")
    etc = tmp_path / "etc"
    etc.mkdir()
    lines = [line.replace("/etc/", f"{etc}/").replace("-g loginguard", f"-g {group}")
             .replace("-o root", f"-o {os.getuid()}")
             for line in fenced("systemd-install", "sh").splitlines()
             if line.startswith("install ")]
    assert len(lines) == 3, lines
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    folder = etc / "loginguard"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    for name in ("env", "oidc.pem"):
        mode = (folder / name).stat()
        assert stat.S_IMODE(mode.st_mode) == 0o640 and mode.st_gid == os.getgid(), name
