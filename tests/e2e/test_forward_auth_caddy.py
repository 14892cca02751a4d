"""Forward auth through a real Caddy (Debian's package) with the Caddyfile of
docs/forward-auth.md, read from that file with this test's names and ports put in
(issue 25, finding 17): a signed-in request reaches the app with loginguard's X-Auth-*
headers, and headers a client forges never reach it, signed in or not, whichever value
loginguard answers (an account id, or "-" for a reseller user's account)."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import Stack, free_port, running_stack
from tests.e2e.test_forward_auth_nginx import DOC, UA, EchoApp, wait_for_port

pytestmark = pytest.mark.e2e
PASSWORD = "forward-auth-passphrase-7"
FORGED = {"X-Auth-User": "owen", "X-Auth-Role": "client_admin", "X-Auth-Account": "999",
          "X-Auth-Reseller": "999", "X-Auth-Email": "owen@forward.example"}


def doc_caddyfile() -> str:
    text = DOC.read_text()
    marker = text.index("<!-- caddy-forward-auth -->")
    match = re.search(r"```caddyfile\n(.*?)```", text[marker:], re.S)
    assert match, "docs/forward-auth.md lost its Caddyfile"
    return match.group(1)


def caddyfile(*, caddy_port: int, loginguard_port: int, app_port: int) -> str:
    config = doc_caddyfile()
    for old, new in [("app.example.com", f"http://app.lg.test:{caddy_port}"),
                     ("127.0.0.1:8000", f"127.0.0.1:{loginguard_port}"),
                     ("127.0.0.1:9000", f"127.0.0.1:{app_port}")]:
        assert old in config, f"the doc's Caddyfile no longer has {old!r}"
        config = config.replace(old, new)
    # The test's own: no admin endpoint, no certificates, nothing outside its folder.
    return "{\n    admin off\n    auto_https off\n}\n" + config


@dataclass
class Site:
    stack: Stack
    port: int
    loginguard_port: int

    def get(self, *, cookie: str = "", **headers: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        sent = {"Host": f"app.lg.test:{self.port}", "User-Agent": UA, **headers}
        if cookie:
            sent["Cookie"] = cookie
        connection.request("GET", "/reports/", headers=sent)
        response = connection.getresponse()
        result = response.status, response.read()
        connection.close()
        return result


def sign_in(stack: Stack, username: str, email: str) -> str:
    """Password, emailed code and "No" at the trust prompt, over plain HTTP; the session
    cookie for the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", UA)]

    def post(path: str, data: dict[str, str]) -> str:
        page = opener.open(stack.base_url + path).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"no form on {path}"
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token.group(1)})
        with opener.open(stack.base_url + path, data=body.encode()) as response:
            return str(response.geturl())

    before = len(stack.inbox.messages)
    assert post("/login/", {"username": username, "password": PASSWORD}).endswith(
        "/login/verify/")
    assert post("/login/verify/", {"code": stack.inbox.code(email, after=before)}).endswith(
        "/login/trust/")
    post("/login/trust/", {"trust": "no", "device_name": ""})
    return "; ".join(f"{c.name}={c.value}" for c in jar if c.name.endswith("lg_session"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed: `apt-get install -y caddy` "
                    "(scripts/ensure-test-tools.sh does it for make test as root)")
    tmp = tmp_path_factory.mktemp("caddy")
    caddy_port, loginguard_port = free_port(), free_port()
    app = ThreadingHTTPServer(("127.0.0.1", 0), EchoApp)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    (tmp / "lg").mkdir()
    with running_stack(tmp / "lg", web_port=loginguard_port, TRUSTED_PROXIES="127.0.0.1/32",
                       FORWARD_AUTH_HOSTS="app.lg.test") as stack:
        stack.cli("create_account", "Forward Corp")
        stack.cli("create_reseller", "Forward Partners")
        stack.cli("create_user", "dana", "--email", "dana@forward.example", "--account",
                  "Forward Corp", "--password-stdin", stdin=PASSWORD + "\n")
        stack.cli("create_user", "rick", "--email", "rick@forward.example", "--reseller",
                  "Forward Partners", "--password-stdin", stdin=PASSWORD + "\n")
        (tmp / "Caddyfile").write_text(caddyfile(
            caddy_port=caddy_port, loginguard_port=loginguard_port,
            app_port=app.server_address[1]))
        env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "data"),
               "XDG_CONFIG_HOME": str(tmp / "config")}
        process = subprocess.Popen([caddy, "run", "--config", str(tmp / "Caddyfile"),
                                    "--adapter", "caddyfile"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_port(caddy_port, process)
            yield Site(stack=stack, port=caddy_port, loginguard_port=loginguard_port)
        finally:
            process.terminate()
            process.wait(timeout=10)
            app.shutdown()


def seen_headers(body: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = json.loads(body)["headers"]
    return headers


def test_a_client_user_reaches_the_app_with_loginguards_headers_only(site: Site) -> None:
    cookie = sign_in(site.stack, "dana", "dana@forward.example")
    status, body = site.get(cookie=cookie, **FORGED)
    assert status == 200
    headers = seen_headers(body)
    assert (headers["X-Auth-User"], headers["X-Auth-Role"]) == ("dana", "client_user")
    assert headers["X-Auth-Account"].isdigit() and headers["X-Auth-Account"] != "999"
    assert headers["X-Auth-Reseller"] == "-" and headers["X-Auth-Email"] == \
        "dana@forward.example"


def test_a_reseller_users_missing_account_is_never_the_clients(site: Site) -> None:
    cookie = sign_in(site.stack, "rick", "rick@forward.example")
    status, body = site.get(cookie=cookie, **FORGED)
    assert status == 200
    headers = seen_headers(body)
    assert (headers["X-Auth-User"], headers["X-Auth-Role"]) == ("rick", "reseller_user")
    assert headers["X-Auth-Account"] == "-"


def test_forged_headers_without_a_session_never_reach_the_app(site: Site) -> None:
    status, body = site.get(**FORGED)
    assert status == 401
    assert b"owen" not in body and b"Sign in" in body


def test_a_require_header_with_non_ascii_bytes_is_refused_by_the_real_server(
        site: Site) -> None:
    """Issue 25, finding 3, against `loginguard serve` itself: the server hands the
    application an empty value for a header with non-ASCII bytes; present-but-empty is a
    403, never "no requirement" (it was a 200 for this client user)."""
    cookie = sign_in(site.stack, "dana", "dana@forward.example")

    def forward(require: bytes | None) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", site.loginguard_port, timeout=10)
        connection.putrequest("GET", "/auth/forward", skip_host=True)
        connection.putheader("Host", f"127.0.0.1:{site.loginguard_port}")
        connection.putheader("User-Agent", UA)
        connection.putheader("Cookie", cookie)
        if require is not None:
            connection.putheader("X-Auth-Require", require)
        connection.endheaders()
        status = connection.getresponse().status
        connection.close()
        return status

    assert forward(None) == 200
    assert forward(b"role=client_admin") == 403
    assert forward(b"role=client_admin\xc2\xa0") == 403
    assert forward(b"role=client_user") == 200
