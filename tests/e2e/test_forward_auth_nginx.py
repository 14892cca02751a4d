"""Forward auth through a real nginx (Debian's package) in front of a tiny app, with
loginguard as the auth server, in Chromium (issue 14). nginx runs the configuration in
docs/forward-auth.md, read from that file with this test's names and ports put in.

The hosts: loginguard at auth.lg.test, the app at app.lg.test, one nginx port for both,
the session cookie shared through SESSION_COOKIE_DOMAIN=lg.test; Chromium resolves
*.lg.test to 127.0.0.1 (--host-resolver-rules)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, expect

from tests.e2e.conftest import Stack, free_port, running_stack

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "forward-auth.md"
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
PASSWORD = "forward-auth-passphrase-7"


def doc_snippet() -> str:
    text = DOC.read_text()
    marker = text.index("<!-- nginx-forward-auth -->")
    match = re.search(r"```nginx\n(.*?)```", text[marker:], re.S)
    assert match, "docs/forward-auth.md lost its nginx snippet"
    return match.group(1)


def nginx_config(*, nginx_port: int, loginguard_port: int, app_port: int) -> str:
    config = doc_snippet()
    for old, new in [("listen 443 ssl;", f"listen 127.0.0.1:{nginx_port};"),
                     ("include snippets/tls.conf;", ""),
                     ("auth.example.com", "auth.lg.test"), ("app.example.com", "app.lg.test"),
                     ("127.0.0.1:8000", f"127.0.0.1:{loginguard_port}"),
                     ("127.0.0.1:9000", f"127.0.0.1:{app_port}")]:
        assert old in config, f"the doc's snippet no longer has {old!r}"
        config = config.replace(old, new)
    return config


class EchoApp(BaseHTTPRequestHandler):
    """The guarded app: answers with the path and the headers that reached it."""

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Site:
    stack: Stack
    port: int
    tmp: Path

    @property
    def auth(self) -> str:
        return f"http://auth.lg.test:{self.port}"

    @property
    def app(self) -> str:
        return f"http://app.lg.test:{self.port}"

    def raw_get(self, path: str, *, cookie: str = "", source: str = "127.0.0.1",
                **headers: str) -> tuple[int, dict[str, str], bytes]:
        """A request to the app through nginx from ``source`` (a loopback address), like a
        client that is not Chromium: to send forged headers, or to come from another IP."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                                source_address=(source, 0))
        sent = {"Host": f"app.lg.test:{self.port}", "User-Agent": UA, **headers}
        if cookie:
            sent["Cookie"] = cookie
        connection.request("GET", path, headers=sent)
        response = connection.getresponse()
        result = response.status, dict(response.getheaders()), response.read()
        connection.close()
        return result


def start_nginx(tmp: Path, config: str) -> subprocess.Popen[bytes]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed: `apt-get install -y nginx` "
                    "(scripts/ensure-test-tools.sh does it for make test as root)")
    (tmp / "loginguard.conf").write_text(config)
    temp = "\n".join(f"    {kind}_temp_path {tmp}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        f"worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log warn;\n"
        f"daemon off;\nevents {{ worker_connections 128; }}\n"
        f"http {{\n    access_log {tmp}/access.log;\n{temp}\n"
        f"    include {tmp}/loginguard.conf;\n}}\n")
    tmp.chmod(0o755)
    command = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        raise AssertionError(f"nginx refused the doc's configuration:\n{check.stderr}")
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    return process


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.skip(f"nginx could not start on this machine: {stderr.strip()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nginx did not listen within 15 s")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("forward")
    nginx_port, loginguard_port = free_port(), free_port()
    app = ThreadingHTTPServer(("127.0.0.1", 0), EchoApp)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    settings = {"BASE_URL": f"http://auth.lg.test:{nginx_port}",
                "ALLOWED_HOSTS": "auth.lg.test,127.0.0.1",
                "TRUSTED_PROXIES": "127.0.0.1/32", "FORWARD_AUTH_HOSTS": "app.lg.test",
                "SESSION_COOKIE_DOMAIN": "lg.test"}
    (tmp / "lg").mkdir()
    with running_stack(tmp / "lg", web_port=loginguard_port, **settings) as stack:
        stack.cli("create_account", "Forward Corp")
        for name, extra in (("dana", []), ("owen", ["--admin"]), ("ada", ["--admin"])):
            stack.cli("create_user", name, "--email", f"{name}@forward.example", "--account",
                      "Forward Corp", *extra, "--password-stdin", stdin=PASSWORD + "\n")
        nginx = start_nginx(tmp, nginx_config(nginx_port=nginx_port,
                                              loginguard_port=loginguard_port,
                                              app_port=app.server_address[1]))
        try:
            wait_for_port(nginx_port, nginx)
            yield Site(stack=stack, port=nginx_port, tmp=tmp)
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
            app.shutdown()


@pytest.fixture(scope="module")
def lg_browser(browser_type: BrowserType, browser_type_launch_args: dict[str, Any]
               ) -> Iterator[Browser]:
    args = [*browser_type_launch_args.get("args", []),
            "--host-resolver-rules=MAP *.lg.test 127.0.0.1"]
    browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
    yield browser
    browser.close()


def sign_in(page: Page, site: Site, user: str, *, code: bool = True) -> None:
    """From the sign-in page the browser was sent to, through to wherever it goes next."""
    before = len(site.stack.inbox.messages)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if code:
        expect(page).to_have_url(f"{site.auth}/login/verify/")
        page.get_by_label("Verification code").fill(
            site.stack.inbox.code(f"{user}@forward.example", after=before))
        page.get_by_role("button", name="Verify").click()
        expect(page).to_have_url(f"{site.auth}/login/trust/")
        page.get_by_role("button", name="Continue").click()  # "No" is the default


def app_view(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.locator("body").inner_text())
    return data


def session_cookie(context: BrowserContext) -> str:
    return "; ".join(f"{c['name']}={c['value']}" for c in context.cookies()
                     if c["name"].endswith("lg_session"))


def test_sign_in_through_the_proxy_and_back_with_the_user_headers(
        lg_browser: Browser, site: Site) -> None:
    context = lg_browser.new_context(user_agent=UA)
    page = context.new_page()
    original = f"{site.app}/reports/?month=11&q=a%2Fb"
    page.goto(original)
    expect(page).to_have_url(f"{site.auth}/login/?next={quote(original, safe='')}")
    expect(page.locator("#login-next")).to_have_text(
        f"Sign in to continue to app.lg.test:{site.port}.")
    sign_in(page, site, "dana")

    expect(page).to_have_url(original)
    seen = app_view(page)
    assert seen["path"] == "/reports/?month=11&q=a%2Fb"
    headers = seen["headers"]
    assert headers["X-Auth-User"] == "dana"
    assert headers["X-Auth-Email"] == "dana@forward.example"
    assert headers["X-Auth-Role"] == "client_user"
    assert headers["X-Auth-Account"].isdigit()
    # The app never receives loginguard's session cookie (the doc's map strips it).
    assert "lg_session" not in headers.get("Cookie", "")
    assert session_cookie(context)  # ... though the browser holds it, for lg.test

    # A forged X-Auth-User from the client is replaced by nginx, signed in or not.
    status, _, body = site.raw_get("/reports/", cookie=session_cookie(context),
                                   **{"X-Auth-User": "owen", "X-Auth-Role": "client_admin"})
    assert status == 200
    forged = json.loads(body)["headers"]
    assert (forged["X-Auth-User"], forged["X-Auth-Role"]) == ("dana", "client_user")
    status, response_headers, body = site.raw_get("/reports/", **{"X-Auth-User": "owen"})
    assert status == 302
    assert response_headers["Location"].startswith(f"{site.auth}/login/?next=")
    assert b"owen" not in body
    context.close()


def test_an_ip_change_ends_the_session_and_asks_for_a_fresh_sign_in(
        lg_browser: Browser, site: Site) -> None:
    context = lg_browser.new_context(user_agent=UA)
    page = context.new_page()
    page.goto(f"{site.app}/")
    sign_in(page, site, "dana")
    expect(page).to_have_url(f"{site.app}/")
    cookie = session_cookie(context)
    assert site.raw_get("/", cookie=cookie)[0] == 200

    # The same cookie from another address (the account's IP policy is "exact").
    status, headers, _ = site.raw_get("/", cookie=cookie, source="127.0.0.2")
    assert status == 302
    assert headers["Location"].startswith(f"{site.auth}/login/")
    # Ended, not only refused: back at the first address the session is gone too.
    assert site.raw_get("/", cookie=cookie)[0] == 302
    page.goto(f"{site.app}/after")
    expect(page).to_have_url(re.compile(re.escape(f"{site.auth}/login/?next=")))
    sign_in(page, site, "dana")
    expect(page).to_have_url(f"{site.app}/after")
    assert app_view(page)["headers"]["X-Auth-User"] == "dana"
    context.close()


def test_a_deactivated_user_is_refused_on_the_next_request(
        lg_browser: Browser, site: Site) -> None:
    context = lg_browser.new_context(user_agent=UA)
    page = context.new_page()
    page.goto(f"{site.app}/")
    sign_in(page, site, "owen")
    expect(page).to_have_url(f"{site.app}/")
    assert app_view(page)["headers"]["X-Auth-Role"] == "client_admin"

    site.stack.cli("shell", "-c", (
        "from loginguard.users.models import User; "
        "from loginguard.actions.users import user_set_active; "
        "from loginguard.devices.request_info import NO_REQUEST; "
        "user_set_active(actor=User.objects.get(username='ada'), "
        "target=User.objects.get(username='owen'), active=False, info=NO_REQUEST)"))
    page.goto(f"{site.app}/next-page")
    expect(page).to_have_url(re.compile(re.escape(f"{site.auth}/login/?next=")))
    context.close()


def test_a_next_to_a_foreign_host_lands_on_home(lg_browser: Browser, site: Site) -> None:
    context = lg_browser.new_context(user_agent=UA)
    page = context.new_page()
    page.goto(f"{site.auth}/login/?next={quote('http://evil.example/', safe='')}")
    expect(page.locator("#login-next")).to_have_count(0)
    sign_in(page, site, "dana")
    expect(page).to_have_url(f"{site.auth}/")
    expect(page.get_by_test_id("header-username")).to_have_text("dana")
    context.close()
