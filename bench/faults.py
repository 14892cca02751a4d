"""Evidence under load and faults (issue 17): a whole installation — its own PostgreSQL
(initdb on a free port), its own Redis, two `loginguard serve` processes taken in turn by
the clients, two `loginguard worker` processes and an SMTP sink — driven by a bounded load
of full and trusted sign-ins, API calls and security actions while parts fail one at a
time.

    .venv/bin/python -m bench.faults                      # every fault, ~5 minutes
    .venv/bin/python -m bench.faults --faults pg,worker   # some of them
    .venv/bin/python -m bench.faults --soak 600           # 10 minutes of mixed load
    .venv/bin/python -m bench.faults --capacity           # the capacity table

After each fault the load pauses, the queue drains, and the suite checks: no 500, no
sign-in without its code, no throttle that answered while its store was away, no session
alive after an acknowledged logout, sign-ins succeeding again within 10 s of the part's
return, every queued email delivered (none lost; any duplicate counted and explained),
and the security log holding every completed sign-in. Results go to
bench/results/faults.json (soak.json, capacity.json) and are printed; --markdown prints
the tables of docs/reliability.md from them. Runs as root: initdb and the server run
as the postgres user.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import queue
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psutil
from aiosmtpd.controller import Controller

from bench.harness import PASSWORD, SEED, Browser, free_port

RECOVERY_GOAL = 10.0
LG = [sys.executable, "-m", "loginguard.cli"]


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise SystemExit(f"{name} not found: install PostgreSQL's server binaries "
                     "(apt-get install -y postgresql)")


class Postgres:
    """A PostgreSQL cluster of our own in a temporary directory, on a free port."""

    def __init__(self, root: Path) -> None:
        self.root = root / "pg"
        self.data, self.sockets = self.root / "data", self.root / "run"
        self.sockets.mkdir(parents=True)
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-A", "trust",
                                     "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True)
        self.start()
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE loginguard")

    def url(self, name: str = "loginguard") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-w", *args]),
                       check=True, capture_output=True)

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} "
                   "-c max_connections=200")
        self._ctl("-l", str(self.root / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def processes(self) -> list[psutil.Process]:
        postmaster = psutil.Process(int((self.data / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-m", "immediate", "stop")


class Redis:
    """A Redis of our own, appending every write to a file as production should (a
    restart keeps the throttle counters and their locks)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.dir), "--save", "", "--appendonly", "yes", "--appendfsync",
             "everysec"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket_to(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    close = stop

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.process.pid)] if self.process else []


@contextlib.contextmanager
def socket_to(port: int) -> Iterator[None]:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1):
        yield


@dataclass
class Received:
    email_pk: int | None
    to: str
    subject: str
    at: float


class Sink:
    """The SMTP server the installation sends to: keeps every message's email row id (from
    its Message-ID), recipient and code; can refuse connections (stopped) and can hold
    each message for a while after DATA (so a worker can be caught mid-send)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.codes: dict[str, list[str]] = {}
        self.hold = 0.0
        self.in_data: set[int] = set()  # the client ports of the messages being held
        self.controller: Controller | None = None
        self.accept()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        found = re.match(r"<loginguard\.(\d+)\.", str(message["Message-ID"]))
        to, subject = str(message["To"]), str(message["Subject"])
        with self.lock:
            self.received.append(Received(int(found.group(1)) if found else None, to,
                                          subject, time.monotonic()))
            if "verification code" in subject:
                for part in message.walk():
                    if part.get_content_type() == "text/plain":
                        body = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
                        self.codes.setdefault(to, []).extend(
                            re.findall(r"(?<!\d)\d{6}(?!\d)", body)[:1])
            self.in_data.add(session.peer[1])
        try:
            if self.hold:
                await asyncio.sleep(self.hold)
        finally:
            with self.lock:
                self.in_data.discard(session.peer[1])
        return "250 OK"

    def code_for(self, address: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.codes.get(address):
                    return self.codes[address].pop()
            time.sleep(0.02)
        return None

    def refuse(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def accept(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.refuse()


class Stack:
    """The installation: its parts, its processes, their logs."""

    def __init__(self, webs: int = 2, workers: int = 2) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lg-faults-"))
        self.root.chmod(0o755)
        self.pg = Postgres(self.root)
        self.redis = Redis(self.root)
        self.sink = Sink()
        self.ports = [free_port() for _ in range(webs)]
        self.env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false",
                    "DATABASE_URL": self.pg.url(), "REDIS_URL":
                    f"redis://127.0.0.1:{self.redis.port}/0", "SECURE_COOKIES": "false",
                    "BASE_URL": f"http://127.0.0.1:{self.ports[0]}", "EMAIL_HOST": "127.0.0.1",
                    "EMAIL_PORT": str(self.sink.port), "LOGINGUARD_VAR_DIR": str(self.root),
                    "LOG_LEVEL": "INFO"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([*LG, "migrate", "-v0"], env=self.env, check=True)
        self.webs: list[subprocess.Popen[bytes] | None] = [None] * webs
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * workers
        for n in range(webs):
            self.start_web(n)
        for n in range(workers):
            self.start_worker(n)

    def _log(self, name: str) -> Any:
        return open(self.root / f"{name}.log", "ab")

    def start_web(self, n: int) -> None:
        with self._log(f"web{n}") as log:
            self.webs[n] = subprocess.Popen(
                [*LG, "serve", "--bind", f"127.0.0.1:{self.ports[n]}", "--workers", "1"],
                env=self.env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status, _, body = Browser(self.url(n)).request("/healthz")
                if status == 200 and body == "ok":
                    return
            time.sleep(0.1)
        raise RuntimeError(f"web process {n} did not start")

    def kill_web(self, n: int) -> None:
        process = self.webs[n]
        assert process is not None
        os.killpg(process.pid, signal.SIGKILL)  # the server and its worker process
        process.wait()
        self.webs[n] = None

    def start_worker(self, n: int) -> None:
        with self._log(f"worker{n}") as log:
            self.workers[n] = subprocess.Popen([*LG, "worker", "-v1"], env=self.env,
                                               stdout=log, stderr=log)

    def kill_worker(self, n: int) -> None:
        process = self.workers[n]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.workers[n] = None

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n]}"

    def processes(self) -> dict[str, list[psutil.Process]]:
        found: dict[str, list[psutil.Process]] = {}
        for kind, group in (("web", self.webs), ("worker", self.workers)):
            for n, process in enumerate(group):
                if process is not None:
                    root = psutil.Process(process.pid)
                    found[f"{kind}{n}"] = [root, *root.children(recursive=True)]
        return found

    def sql(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            return conn.execute(statement, args).fetchall()

    def shell(self, code: str) -> str:
        return subprocess.run([*LG, "shell", "-c", code], env=self.env, capture_output=True,
                              text=True, check=True).stdout

    def log_errors(self) -> list[str]:
        lines = []
        for path in sorted(self.root.glob("*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line):
                    lines.append(f"{path.name}: {line}")
        return lines

    def close(self) -> None:
        for n, process in enumerate(self.webs):
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
                self.webs[n] = None
        for process in self.workers:
            if process is not None:
                process.terminate()
                process.wait(timeout=20)
        self.sink.close()
        self.redis.close()
        self.pg.close()
        shutil.rmtree(self.root, ignore_errors=True)


TOKENS = """
from loginguard.apitokens.services import api_token_create
from loginguard.users.models import User
for user in User.objects.filter(username__startswith="api")[:{count}]:
    print("TOKEN", api_token_create(user=user, name="load", days=7)[1])
"""


@dataclass
class Tally:
    """What the clients saw, per phase."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    phase: str = "warm-up"
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    latencies: list[tuple[float, str, float]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    completed_full: Counter[str] = field(default_factory=Counter)
    completed_trusted: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[int] = field(default_factory=Counter)
    probes: Counter[str] = field(default_factory=Counter)  # wrong passwords refused, 503
    outage: str | None = None  # the part that is away right now

    def status(self, label: str) -> None:
        with self.lock:
            self.statuses[(self.phase, label)] += 1

    def outcome(self, label: str) -> None:
        with self.lock:
            self.outcomes[(self.phase, label)] += 1

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(f"[{self.phase}] {text}")
        print(f"  VIOLATION [{self.phase}] {text}", flush=True)


class Refused(Exception):
    """This flow did not complete (503, a dropped connection, no code in time)."""


class Client:
    """One browser's requests to the web processes in turn, with every answer counted."""

    def __init__(self, stack: Stack, tally: Tally, web: int) -> None:
        self.stack, self.tally = stack, tally
        self.web = web % len(stack.ports)
        self.browser = Browser(stack.url(self.web))

    def call(self, path: str, data: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str, str]:
        port = self.stack.ports[self.web]
        with self.tally.lock:
            self.tally.in_flight[port] += 1
        start = time.monotonic()
        if data is not None and not any(c.name == self.browser.csrf_cookie
                                        for c in self.browser.jar):
            raise Refused(f"{path}: no CSRF cookie (its page was not served)")
        try:
            if headers:
                result = api_get(self.browser.base_url + path, headers)
            elif data is None:
                result = self.browser.request(path)
            else:
                result = self.browser.post(path, data)
        except (OSError, http.client.HTTPException) as exc:
            self.tally.status("connection error")
            raise Refused(f"{path}: {type(exc).__name__}") from exc
        finally:
            with self.tally.lock:
                self.tally.in_flight[port] -= 1
        elapsed = time.monotonic() - start
        status = result[0]
        with self.tally.lock:
            self.tally.latencies.append((start, path.split("/")[1] or "/", elapsed))
        self.tally.status(str(status))
        if status >= 500 and status != 503:
            self.tally.violation(f"{status} from {path}")
        if status == 503:
            clear = ('"detail"' in result[2] if path.startswith("/api/")
                     else "Temporarily unavailable" in result[2])
            if not clear:
                self.tally.violation(f"a 503 from {path} without its page or JSON error")
            raise Refused(f"{path}: 503")
        return result


def api_get(url: str, headers: dict[str, str]) -> tuple[int, str, str]:
    import urllib.request

    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, "", response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, "", error.read().decode()


def full_signin(client: Client, username: str, email: str, code_wait: float,
                trust: bool = False, then_act: bool = True) -> None:
    """Password, the emailed code, the trust prompt; with ``then_act`` the home page, the
    Security section unlocked with the password, then log out and check the old session
    is dead."""
    client.call("/login/")
    status, location, _ = client.call("/login/", {"username": username, "password": PASSWORD})
    if location == "/":
        client.tally.violation(f"{username} signed in on an untrusted device without a code")
        return
    if location != "/login/verify/":
        raise Refused(f"password step answered {status} {location!r}")
    client.call("/login/verify/")
    code = client.stack.sink.code_for(email, code_wait)
    if code is None:
        raise Refused("no code in time")
    status, location, _ = client.call("/login/verify/", {"code": code})
    if location != "/login/trust/":
        raise Refused(f"code step answered {status} {location!r}")
    answer = {"trust": "yes", "device_name": "Load"} if trust else {"trust": "no"}
    status, location, _ = client.call("/login/trust/", {**answer})
    if location != "/":
        raise Refused(f"trust step answered {status} {location!r}")
    with client.tally.lock:
        client.tally.completed_full[username] += 1
    if then_act:
        signed_in_actions(client, username)


def signed_in_actions(client: Client, username: str) -> None:
    status, location, _ = client.call("/")
    if status != 200:
        raise Refused(f"home answered {status} {location!r}")
    status, location, _ = client.call("/security/unlock/", {"password": PASSWORD})
    if status != 302:
        raise Refused(f"unlock answered {status}")
    logout_checked(client, username)


def logout_checked(client: Client, username: str, check: bool = True) -> None:
    session = next((c.value for c in client.browser.jar if c.name == "lg_session"), None)
    status, _, _ = client.call("/logout/", {})
    if status != 302 or session is None or not check:
        return  # not acknowledged: nothing promised
    # The logout was acknowledged: the old session cookie must open nothing, on any web
    # process, from now on.
    for web in range(len(client.stack.ports)):
        ghost = Browser(client.stack.url(web))
        ghost.opener.addheaders.append(("Cookie", f"lg_session={session}"))
        try:
            status, _, _ = ghost.request("/")
        except OSError:
            continue
        if status == 200:
            client.tally.violation(f"{username}'s session answered after its logout")


class Load:
    """Bounded load: ``threads`` clients, each running one flow after another with a
    short pause, over a round-robin of the web processes."""

    def __init__(self, stack: Stack, tally: Tally, users: queue.Queue[tuple[str, str]],
                 trusted: queue.Queue[tuple[Client, str]], tokens: list[str],
                 threads: int = 6, pause: float = 0.1, code_wait: float = 20.0) -> None:
        self.stack, self.tally, self.users, self.trusted = stack, tally, users, trusted
        self.tokens, self.code_wait, self.pause = tokens, code_wait, pause
        self.cond = threading.Condition()
        self.paused = False
        self.stopping = False
        self.waiting = 0
        self.threads = [threading.Thread(target=self._loop, args=(n,), daemon=True)
                        for n in range(threads)]
        self.kinds = ["full", "full", "trusted", "api", "full", "api"]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def pause_all(self) -> None:
        """Return once every client has finished its flow and waits."""
        with self.cond:
            self.paused = True
            while self.waiting < len(self.threads):
                self.cond.wait()

    def resume(self) -> None:
        with self.cond:
            self.paused = False
            self.cond.notify_all()

    def stop(self) -> None:
        self.pause_all()
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for thread in self.threads:
            thread.join()

    def _go_on(self) -> bool:
        """Wait here while paused; False once the load is stopping."""
        with self.cond:
            if self.paused:
                self.waiting += 1
                self.cond.notify_all()
                while self.paused and not self.stopping:
                    self.cond.wait()
                self.waiting -= 1
            return not self.stopping

    def _loop(self, n: int) -> None:
        turn = n
        while self._go_on():
            kind = self.kinds[n % len(self.kinds)]
            turn += len(self.threads)
            try:
                self.one(kind, turn)
                self.tally.outcome(f"{kind} completed")
            except Refused:
                self.tally.outcome(f"{kind} refused")
            except Exception as exc:  # a bug in the suite must not hang the run
                self.tally.violation(f"load thread {n}: {type(exc).__name__}: {exc}")
            time.sleep(self.pause * random.uniform(0.5, 1.5))

    def one(self, kind: str, turn: int) -> None:
        if kind == "full":
            username, email = self.users.get_nowait()
            full_signin(Client(self.stack, self.tally, turn), username, email,
                        self.code_wait)
        elif kind == "trusted":
            client, username = self.trusted.get()
            try:
                trusted_signin(client, username)
            finally:
                self.trusted.put((client, username))
        else:
            token = self.tokens[turn % len(self.tokens)]
            status, _, _ = Client(self.stack, self.tally, turn).call(
                "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            if status != 200:
                raise Refused(f"api answered {status}")


def trusted_signin(client: Client, username: str, check_logout: bool = True) -> None:
    client.web = (client.web + 1) % len(client.stack.ports)
    client.browser.base_url = client.stack.url(client.web)
    status, location, _ = client.call("/login/")
    if location == "/":  # still signed in: its last logout was refused (an outage)
        logout_checked(client, username, check_logout)
        status, location, _ = client.call("/login/")
    if status != 200:
        raise Refused(f"sign-in page answered {status} {location!r}")
    status, location, _ = client.call("/login/", {"username": username,
                                                  "password": PASSWORD})
    if location != "/":
        raise Refused(f"trusted password step answered {status} {location!r}")
    with client.tally.lock:
        client.tally.completed_trusted[username] += 1
    logout_checked(client, username, check_logout)


@dataclass
class Installation:
    stack: Stack
    tally: Tally
    load: Load


def prepare(stack: Stack, *, users: int, threads: int, trusted: int = 4) -> Installation:
    stack.shell(SEED.format(prefix="u", password=PASSWORD, count=users))
    stack.shell(SEED.format(prefix="api", password=PASSWORD, count=4))
    stack.shell(SEED.format(prefix="dev", password=PASSWORD, count=trusted))
    tokens = re.findall(r"TOKEN (\S+)", stack.shell(TOKENS.format(count=4)))
    tally = Tally(phase="set-up")
    pool: queue.Queue[tuple[str, str]] = queue.Queue()
    for n in range(users):
        pool.put((f"u{n}", f"u{n}@bench.example"))
    trusted_pool: queue.Queue[tuple[Client, str]] = queue.Queue()
    for n in range(trusted):
        client = Client(stack, tally, n)
        full_signin(client, f"dev{n}", f"dev{n}@bench.example", 30, trust=True)
        trusted_pool.put((client, f"dev{n}"))
    load = Load(stack, tally, pool, trusted_pool, tokens, threads=threads)
    return Installation(stack, tally, load)


# Faults -------------------------------------------------------------------------------


@dataclass
class FaultResult:
    name: str
    what: str
    statuses: dict[str, int] = field(default_factory=dict)
    signins: dict[str, int] = field(default_factory=dict)
    recovery_s: float | None = None
    emails: dict[str, int] = field(default_factory=dict)
    duplicates_explained: str = ""
    audit_missing: list[str] = field(default_factory=list)
    throttle_probes_refused: int = 0
    violations: list[str] = field(default_factory=list)


def probe_recovery(inst: Installation, since: float, limit: float = 60.0) -> float | None:
    """Seconds from ``since`` (the part's return) until a full sign-in started after it
    has completed; one attempt after another, each with its own fresh user."""
    while time.monotonic() - since < limit:
        username, email = inst.load.users.get_nowait()
        try:
            client = Client(inst.stack, inst.tally, random.randrange(8))
            full_signin(client, username, email, code_wait=5.0)
            return time.monotonic() - since
        except Refused:
            time.sleep(0.2)
    return None


def throttle_probe(client: Client, part: str, until: threading.Event) -> None:
    """While ``part`` is away, wrong passwords for one user, posted with a CSRF cookie the
    prober took before the outage: each must be refused with a 503, never answered as a
    checked password (a throttle that failed open). Counts the 503s it got meanwhile."""
    tally = client.tally
    while not until.is_set():
        try:
            status, location, _ = client.call(
                "/login/", {"username": "u_probe", "password": "wrong-" + secrets.token_hex(4)})
            if tally.outage == part:
                tally.violation(f"password checked while {part} was away "
                                f"({status} {location!r})")
        except Refused as refused:
            if tally.outage == part and "503" in str(refused):
                with tally.lock:
                    tally.probes[tally.phase] += 1
        time.sleep(0.3)


def outage(inst: Installation, part: str, stop: Callable[[], None],
           start: Callable[[], None], seconds: float) -> float | None:
    done = threading.Event()
    client = Client(inst.stack, inst.tally, 0)
    client.call("/login/")  # the form's CSRF cookie, while the page can still be served
    prober = threading.Thread(target=throttle_probe, args=(client, part, done), daemon=True)
    stop()
    time.sleep(1.0)  # requests already past the part when it went may still finish
    inst.tally.outage = part
    prober.start()
    time.sleep(max(seconds - 1.0, 0))
    inst.tally.outage = None
    start()
    back = time.monotonic()
    done.set()
    prober.join()
    return probe_recovery(inst, back)


def fault_pg(inst: Installation, args: argparse.Namespace) -> tuple[str, float | None]:
    pg = inst.stack.pg
    return (f"PostgreSQL stopped for {args.outage:g} s, then started",
            outage(inst, "postgres", pg.stop, pg.start, args.outage))


def fault_redis(inst: Installation, args: argparse.Namespace) -> tuple[str, float | None]:
    redis = inst.stack.redis
    return (f"Redis stopped for {args.outage:g} s, then started",
            outage(inst, "redis", redis.stop, redis.start, args.outage))


def fault_smtp(inst: Installation, args: argparse.Namespace) -> tuple[str, float | None]:
    sink = inst.stack.sink
    sink.refuse()
    time.sleep(args.smtp_outage)
    sink.accept()
    return (f"SMTP refusing connections for {args.smtp_outage:g} s",
            probe_recovery(inst, time.monotonic()))


def fault_worker(inst: Installation, args: argparse.Namespace) -> tuple[str, float | None]:
    """Hold each message 3 s after DATA; SIGKILL the worker whose message is held (it has
    handed the message over but not recorded it). Its connection is matched by port: the
    workers keep their SMTP connections open between messages, so another worker may be
    connected at the same time, anywhere in its own cycle."""
    stack = inst.stack
    stack.sink.hold = 3.0
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        with stack.sink.lock:
            held = set(stack.sink.in_data)
        if held:
            for n, process in enumerate(stack.workers):
                if process is None:
                    continue
                connections = psutil.Process(process.pid).net_connections(kind="tcp")
                if any(c.raddr and c.raddr.port == stack.sink.port and c.laddr.port in held
                       for c in connections):
                    victim = n
                    break
        time.sleep(0.05)
    if victim is None:
        stack.sink.hold = 0.0
        return "no worker was caught sending within 60 s", None
    stack.kill_worker(victim)
    killed = time.monotonic()
    stack.sink.hold = 0.0
    time.sleep(1.0)
    stack.start_worker(victim)  # as its supervisor would
    return (f"worker {victim} killed with SIGKILL while the SMTP server held its message "
            "after DATA, then restarted", probe_recovery(inst, killed))


def fault_web(inst: Installation, args: argparse.Namespace) -> tuple[str, float | None]:
    stack = inst.stack
    port = stack.ports[0]
    deadline = time.monotonic() + 30
    while inst.tally.in_flight[port] == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    in_flight = inst.tally.in_flight[port]
    stack.kill_web(0)
    time.sleep(1.0)
    stack.start_web(0)
    back = time.monotonic()
    return (f"web process 0 killed with SIGKILL with {in_flight} request(s) in flight, then "
            "restarted", probe_recovery(inst, back))


FAULTS: dict[str, Callable[[Installation, argparse.Namespace], tuple[str, float | None]]] = {
    "pg": fault_pg, "redis": fault_redis, "smtp": fault_smtp, "worker": fault_worker,
    "web": fault_web,
}


def drain(stack: Stack, limit: float) -> int:
    """Wait for the queue to empty (every email sent or failed); how many are left."""
    deadline = time.monotonic() + limit
    while True:
        [(left,)] = stack.sql("SELECT count(*) FROM emails_outgoingemail "
                              "WHERE status IN ('queued', 'sending')")
        if left == 0 or time.monotonic() > deadline:
            return int(left)
        time.sleep(0.5)


def account_emails(stack: Stack, after_pk: int, up_to_pk: int) -> dict[str, int]:
    rows = stack.sql("SELECT id, status FROM emails_outgoingemail WHERE id > %s AND id <= %s",
                     after_pk, up_to_pk)
    with stack.sink.lock:
        seen = Counter(r.email_pk for r in stack.sink.received)
    queued = len(rows)
    delivered = sum(1 for pk, _ in rows if seen[pk])
    duplicated = sum(seen[pk] - 1 for pk, _ in rows if seen[pk] > 1)
    failed = sum(1 for _, status in rows if status == "failed")
    return {"queued": queued, "delivered": delivered, "duplicated": duplicated,
            "lost": queued - delivered, "failed": failed}


def missing_audit(stack: Stack, tally: Tally) -> list[str]:
    """Completed sign-ins the security log does not show (per user: fewer 'login.succeeded'
    rows than sign-ins the clients completed; for full ones also 'code.verified')."""
    rows = stack.sql("SELECT u.username, a.event_type, count(*) FROM audit_auditevent a "
                     "JOIN users_user u ON u.id = a.subject_id WHERE a.event_type IN "
                     "('login.succeeded', 'code.verified') GROUP BY u.username, a.event_type")
    logged = {(name, event): int(count) for name, event, count in rows}
    with tally.lock:
        full, trusted = dict(tally.completed_full), dict(tally.completed_trusted)
    missing = []
    for name in sorted(set(full) | set(trusted)):
        done = full.get(name, 0) + trusted.get(name, 0)
        for event, expected in (("login.succeeded", done), ("code.verified", full.get(name))):
            if expected and logged.get((name, event), 0) < expected:
                missing.append(f"{name}: {event} {logged.get((name, event), 0)} of "
                               f"{expected}")
    return missing


def max_email_pk(stack: Stack) -> int:
    [(pk,)] = stack.sql("SELECT coalesce(max(id), 0) FROM emails_outgoingemail")
    return int(pk)


def phase_counts(tally: Tally, phase: str) -> tuple[dict[str, int], dict[str, int]]:
    with tally.lock:
        statuses = {k: v for (p, k), v in tally.statuses.items() if p == phase}
        outcomes = {k: v for (p, k), v in tally.outcomes.items() if p == phase}
    return statuses, outcomes


def run_faults(args: argparse.Namespace) -> list[FaultResult]:
    stack = Stack()
    results = []
    try:
        inst = prepare(stack, users=args.users, threads=args.threads)
        print(f"installation up under {stack.root}: PostgreSQL :{stack.pg.port}, Redis "
              f":{stack.redis.port}, SMTP :{stack.sink.port}, web {stack.ports}", flush=True)
        inst.tally.phase = "warm-up"
        inst.load.start()
        time.sleep(args.warm)
        for name in args.faults.split(","):
            before = max_email_pk(stack)
            inst.tally.phase = name
            violations_before = len(inst.tally.violations)
            print(f"== fault {name}", flush=True)
            what, recovery = FAULTS[name](inst, args)
            time.sleep(args.after)  # the load runs on after the recovery
            inst.load.pause_all()
            left = drain(stack, args.drain)
            statuses, outcomes = phase_counts(inst.tally, name)
            emails = account_emails(stack, before, max_email_pk(stack))
            emails["left in queue"] = left
            result = FaultResult(
                name, what, statuses, outcomes, recovery, emails,
                audit_missing=missing_audit(stack, inst.tally),
                throttle_probes_refused=inst.tally.probes[name],
                violations=inst.tally.violations[violations_before:])
            if emails["duplicated"]:
                result.duplicates_explained = (
                    "sent again after the killed worker's claim was rescued: it died after "
                    "DATA and before recording the delivery")
            report(result)
            results.append(result)
            inst.load.resume()
        inst.tally.phase = "wind-down"
        inst.load.stop()
        errors = Counter(re.sub(r"\b[0-9a-f-]{16,}\b|\d+", "N",
                                re.sub(r"^\S+ \S+ ", "", line.split(": ", 1)[1]))
                         for line in stack.log_errors())
        print(f"error lines in the logs: {sum(errors.values())}")
        for line, count in errors.most_common(10):
            print(f"  {count:5d} × {line[:150]}")
    finally:
        stack.close()
    return results


def report(r: FaultResult) -> None:
    served = sum(v for k, v in r.statuses.items() if k[0] in "23")
    print(f"  {r.what}")
    print(f"  responses: {served} served, {r.statuses.get('503', 0)} × 503, "
          f"{sum(v for k, v in r.statuses.items() if k.startswith('5') and k != '503')} × "
          f"other 5xx, {r.statuses.get('connection error', 0)} connection errors")
    print(f"  sign-ins: {r.signins}")
    recovery = "never" if r.recovery_s is None else f"{r.recovery_s:.1f} s"
    print(f"  recovery (part back -> a full sign-in done): {recovery} "
          f"(goal <= {RECOVERY_GOAL:g} s)")
    print(f"  emails: {r.emails} {r.duplicates_explained}")
    print(f"  completed sign-ins missing from the security log: {len(r.audit_missing)} "
          f"{r.audit_missing[:5]}")
    if r.name in ("pg", "redis"):
        print(f"  wrong passwords posted while it was away: {r.throttle_probes_refused}, "
              "each answered 503")
    print(f"  violations: {len(r.violations)}", flush=True)


def held(r: FaultResult) -> bool:
    return (not r.violations and r.recovery_s is not None and r.recovery_s <= RECOVERY_GOAL
            and r.emails["lost"] == 0 and r.emails["left in queue"] == 0
            and not r.audit_missing
            and (r.emails["duplicated"] == 0 or r.name == "worker"))


# Soak ---------------------------------------------------------------------------------


def run_soak(args: argparse.Namespace) -> dict[str, Any]:
    stack = Stack()
    try:
        inst = prepare(stack, users=args.users, threads=args.threads)
        inst.tally.phase = "soak"
        inst.load.start()
        samples: list[dict[str, Any]] = []
        start = time.monotonic()
        while time.monotonic() - start < args.soak:
            time.sleep(10)
            minute = int((time.monotonic() - start) // 60)
            rss, conns = {}, {}
            servers = {stack.pg.port, stack.redis.port, stack.sink.port}
            for name, procs in stack.processes().items():
                rss[name] = sum(p.memory_info().rss for p in procs)
                # Connections the process opened to PostgreSQL, Redis and SMTP (a leak
                # shows here); its clients' connections come and go with the load.
                conns[name] = sum(1 for p in procs for c in p.net_connections(kind="tcp")
                                  if c.raddr and c.raddr.port in servers)
            [(pg_conns,)] = stack.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "datname = 'loginguard'")
            samples.append({"minute": minute, "rss": rss, "tcp": conns, "pg": int(pg_conns)})
            print(f"  {time.monotonic() - start:5.0f} s: RSS MiB "
                  f"{ {k: round(v / 2**20) for k, v in rss.items()} }, connections to "
                  f"PostgreSQL/Redis/SMTP {conns}, PostgreSQL backends {pg_conns}",
                  flush=True)
        inst.load.stop()
        left = drain(stack, 180)
        emails = account_emails(stack, 0, max_email_pk(stack))
        result = soak_figures(inst.tally, samples, start)
        result.update(emails=emails, left_in_queue=left, log_errors=stack.log_errors(),
                      violations=inst.tally.violations,
                      audit_missing=missing_audit(stack, inst.tally),
                      outcomes=phase_counts(inst.tally, "soak")[1])
        return result
    finally:
        stack.close()


def soak_figures(tally: Tally, samples: list[dict[str, Any]], start: float
                 ) -> dict[str, Any]:
    minutes = Counter(s["minute"] for s in samples)
    last = max(m for m, n in minutes.items() if n >= 3)  # the last whole minute

    def mean_of(minute: int, key: str) -> dict[str, float]:
        rows = [s for s in samples if s["minute"] == minute]
        names = rows[0][key].keys() if isinstance(rows[0][key], dict) else ["all"]
        if not isinstance(rows[0][key], dict):
            return {"all": statistics.mean(s[key] for s in rows)}
        return {n: statistics.mean(s[key][n] for s in rows if n in s[key]) for n in names}

    second = 1
    growth = {}
    for key in ("rss", "tcp", "pg"):
        early, late = mean_of(second, key), mean_of(last, key)
        growth[key] = {n: late[n] / early[n] if early[n] else 1.0 for n in early}
    per_minute: dict[int, list[float]] = {}
    per_path: dict[tuple[int, str], list[float]] = {}
    for started, path, elapsed in tally.latencies:
        if started < start:
            continue  # the set-up's sign-ins
        minute = int((started - start) // 60)
        per_minute.setdefault(minute, []).append(elapsed)
        per_path.setdefault((minute, path), []).append(elapsed)
    by_path = {f"{path} minute {m}": round(statistics.quantiles(v, n=20)[-1] * 1000, 1)
               for (m, path), v in sorted(per_path.items(), key=lambda kv: kv[0][1])
               if m in (second, last) and len(v) >= 20}
    p95 = {m: statistics.quantiles(v, n=20)[-1] for m, v in sorted(per_minute.items())
           if len(v) >= 20}
    p95_growth = p95[last] / p95[second] if last in p95 and second in p95 else None
    return {"minutes": last + 1, "growth_last_vs_second_minute": growth,
            "p95_last_vs_second_minute": p95_growth, "samples": samples,
            "p95_ms_per_minute": {m: round(v * 1000, 1) for m, v in p95.items()},
            "p95_ms_by_path_second_and_last_minute": by_path,
            "requests": len(tally.latencies)}


# Capacity -----------------------------------------------------------------------------


def run_capacity(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for webs in (1, 2):
        stack = Stack(webs=webs)
        try:
            inst = prepare(stack, users=args.users, threads=1, trusted=32)
            for kind in ("full", "trusted", "api"):
                if kind not in args.flows.split(","):
                    continue
                rows.append({"webs": webs, "kind": kind, **capacity(inst, kind, args)})
                print(f"  {webs} web process(es), {kind}: {rows[-1]}", flush=True)
            if "wrk" in args.flows.split(",") and shutil.which("wrk"):
                rows.append({"webs": webs, "kind": "api (wrk)", **api_wrk(inst, args)})
                print(f"  {webs} web process(es), api (wrk): {rows[-1]}", flush=True)
        finally:
            stack.close()
    return rows


def capacity(inst: Installation, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Offered rate stepped up by 25 % per step of ``args.step`` seconds, arrivals open
    loop (a flow starts on schedule whether or not earlier ones finished, up to 64 at
    once); the best step is the last whose p95 request latency stayed under 500 ms and
    which kept up with at least 90 % of the offered rate."""
    rate = {"full": 2.0, "trusted": 4.0, "api": 40.0}[kind]
    best: dict[str, Any] = {}
    while True:
        step = capacity_step(inst, kind, rate, args.step)
        print(f"    {kind} step {step}", flush=True)
        if step["p95_ms"] > 500 or step["achieved_per_s"] < 0.9 * step["offered_per_s"]:
            return {**best, "first_failing_step": step}
        best = step
        rate *= 1.25


def api_wrk(inst: Installation, args: argparse.Namespace) -> dict[str, Any]:
    """The API with wrk (C) instead of Python clients, which top out near 700 requests a
    second on this machine: one wrk per web process, connections doubled per step until
    p99 (wrk reports no p95; p99 is stricter) passes 500 ms or the rate stops growing."""
    stack, token = inst.stack, inst.load.tokens[0]
    best: dict[str, Any] = {}
    connections = 2
    while connections <= 256:
        cpu_before, t0 = server_cpu(stack), time.monotonic()
        runs = [subprocess.Popen(
            ["wrk", "-t1", f"-c{max(connections // len(stack.ports), 1)}",
             f"-d{args.step:g}s", "--latency", "-H", f"Authorization: Bearer {token}",
             f"{stack.url(n)}/api/v1/me"], stdout=subprocess.PIPE, text=True)
            for n in range(len(stack.ports))]
        outputs = [run.communicate()[0] for run in runs]
        cores = (server_cpu(stack) - cpu_before) / (time.monotonic() - t0)
        rate = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
                   for out in outputs)
        p99 = max(wrk_ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
                  for out in outputs)
        errors = sum(int(m) for out in outputs
                     for m in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
        step = {"connections": connections, "achieved_per_s": round(rate, 1),
                "p99_ms": round(p99, 1), "server_cpu_cores": round(cores, 2),
                "per_core_per_s": round(rate / cores, 1) if cores else None,
                "non_2xx": errors}
        print(f"    api (wrk) step {step}", flush=True)
        if p99 > 500 or errors or (best and rate < 1.05 * best["achieved_per_s"]):
            return {**best, "first_failing_step": step}
        best = step
        connections *= 2
    return best


def wrk_ms(text: str) -> float:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * units[unit]


def server_cpu(stack: Stack) -> float:
    """CPU seconds used so far by the installation's server side: web processes, workers,
    PostgreSQL and Redis. A process's reaped children count too (PostgreSQL's backends
    come and go), and so does each live one, so nothing born or gone between two readings
    is missed or counted twice."""
    processes = [p for procs in stack.processes().values() for p in procs]
    processes += stack.pg.processes() + stack.redis.processes()
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def capacity_step(inst: Installation, kind: str, rate: float, seconds: float
                  ) -> dict[str, Any]:
    stack = inst.stack
    tally = Tally(phase=kind)
    done: Counter[str] = Counter()
    lock = threading.Lock()
    gate = threading.Semaphore(64)

    def flow(n: int) -> None:
        try:
            if kind == "full":
                full_signin(Client(stack, tally, n), *inst.load.users.get_nowait(),
                            code_wait=10.0, then_act=False)
            elif kind == "trusted":
                client, name = inst.load.trusted.get()
                client.tally = tally
                try:
                    trusted_signin(client, name, check_logout=False)
                finally:
                    inst.load.trusted.put((client, name))
            else:
                token = inst.load.tokens[n % len(inst.load.tokens)]
                status, _, _ = Client(stack, tally, n).call(
                    "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                if status != 200:
                    raise Refused(f"api answered {status}")
            with lock:
                done["completed"] += 1
        except Refused:
            with lock:
                done["refused"] += 1
        finally:
            gate.release()

    cpu_before, t0 = server_cpu(stack), time.monotonic()
    threads = []
    offered = int(rate * seconds)
    for n in range(offered):
        time.sleep(max(t0 + n / rate - time.monotonic(), 0))
        if not gate.acquire(timeout=30):
            break
        thread = threading.Thread(target=flow, args=(n,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - t0
    cores = (server_cpu(stack) - cpu_before) / elapsed
    latencies = [e for _, _, e in tally.latencies]
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 20 else 0.0
    achieved = done["completed"] / elapsed
    return {"offered_per_s": round(rate, 1), "offered": offered,
            "completed": done["completed"], "achieved_per_s": round(achieved, 2),
            "p95_ms": round(p95 * 1000), "server_cpu_cores": round(cores, 2),
            "per_core_per_s": round(achieved / cores, 2) if cores else None,
            "refused": done["refused"], "violations": len(tally.violations)}


def markdown(out: Path) -> None:
    """The tables of docs/reliability.md, from the last runs' JSON."""
    if (out / "faults.json").exists():
        print("| fault | served | 503 | other 5xx | dropped connections | sign-ins completed"
              " / refused | recovery | emails queued / delivered / duplicated / lost |")
        print("|---|---|---|---|---|---|---|---|")
        for r in json.loads((out / "faults.json").read_text()):
            st, si = r["statuses"], r["signins"]
            served = sum(v for k, v in st.items() if k[0] in "23")
            other = sum(v for k, v in st.items() if k.startswith("5") and k != "503")
            done = sum(v for k, v in si.items() if k.endswith("completed") and
                       not k.startswith("api"))
            refused = sum(v for k, v in si.items() if k.endswith("refused") and
                          not k.startswith("api"))
            e = r["emails"]
            recovery = "never" if r["recovery_s"] is None else f"{r['recovery_s']:.1f} s"
            print(f"| {r['what']} | {served} | {st.get('503', 0)} | {other} | "
                  f"{st.get('connection error', 0)} | {done} / {refused} | {recovery} | "
                  f"{e['queued']} / {e['delivered']} / {e['duplicated']} / {e['lost']} |")
    rows = [row for path in sorted(out.glob("capacity*.json"))
            for row in json.loads(path.read_text())]
    if rows:
        print()
        print("| web processes | flow | best rate under 500 ms | latency there | server CPU"
              " there (cores) | per core | first step that failed |")
        print("|---|---|---|---|---|---|---|")
        for r in sorted(rows, key=lambda row: (row["webs"], row["kind"])):
            f = r.get("first_failing_step", {})
            if "p99_ms" in r:
                latency = f"p99 {r['p99_ms']} ms"
                failed = (f"{f['connections']} connections: {f['achieved_per_s']}/s, p99 "
                          f"{f['p99_ms']} ms" if f else "–")
            else:
                latency = f"p95 {r.get('p95_ms', '–')} ms"
                failed = (f"{f['offered_per_s']}/s offered: {f['achieved_per_s']}/s, p95 "
                          f"{f['p95_ms']} ms" if f else "–")
            print(f"| {r['webs']} | {r['kind']} | {r.get('achieved_per_s', '–')}/s | "
                  f"{latency} | {r.get('server_cpu_cores', '–')} | "
                  f"{r.get('per_core_per_s', '–')}/s | {failed} |")


def stopped_from_outside(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
    sys.exit(143)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--faults", default="pg,redis,smtp,worker,web",
                        help="which faults, in order (default: all five)")
    parser.add_argument("--outage", type=float, default=20.0,
                        help="seconds PostgreSQL and Redis stay stopped (default 20)")
    parser.add_argument("--smtp-outage", type=float, default=60.0,
                        help="seconds SMTP refuses connections (default 60)")
    parser.add_argument("--threads", type=int, default=6, help="load clients (default 6)")
    parser.add_argument("--users", type=int, default=6000,
                        help="users seeded; each full sign-in takes a new one (default 6000)")
    parser.add_argument("--warm", type=float, default=10.0,
                        help="seconds before the first fault (default 10)")
    parser.add_argument("--after", type=float, default=10.0,
                        help="seconds of load after each recovery (default 10)")
    parser.add_argument("--drain", type=float, default=240.0,
                        help="longest wait for the queue to empty after a fault (default 240)")
    parser.add_argument("--soak", type=float, metavar="SECONDS",
                        help="run the soak for this long instead of the faults")
    parser.add_argument("--capacity", action="store_true",
                        help="measure the capacity table instead of the faults")
    parser.add_argument("--flows", default="full,trusted,api,wrk",
                        help="which flows --capacity measures (default: all; wrk: the API "
                             "driven by wrk, when it is installed)")
    parser.add_argument("--step", type=float, default=15.0,
                        help="seconds per offered rate in --capacity (default 15)")
    parser.add_argument("--markdown", action="store_true",
                        help="print docs/reliability.md's tables from the last runs")
    args = parser.parse_args()
    if args.markdown:
        markdown(Path("bench/results"))
        return
    # Stopped from outside (a timeout, Ctrl-C): still stop every process and the cluster.
    signal.signal(signal.SIGTERM, stopped_from_outside)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    if args.soak:
        result = run_soak(args)
        (out / "soak.json").write_text(json.dumps(result, indent=2, default=str))
        print(json.dumps(result, indent=2, default=str))
        return
    if args.capacity:
        rows = run_capacity(args)
        name = "capacity" if args.flows == parser.get_default("flows") else \
            "capacity-" + args.flows.replace(",", "-")
        (out / f"{name}.json").write_text(json.dumps(rows, indent=2))
        markdown(out)
        return
    results = run_faults(args)
    (out / "faults.json").write_text(json.dumps([r.__dict__ for r in results], indent=2))
    failed = [r.name for r in results if not held(r)]
    print("every fault held" if not failed else f"NOT HELD: {', '.join(failed)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
