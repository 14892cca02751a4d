"""Single sign-on fixtures: a signing key, registered apps, PKCE, a back-channel receiver
(a real HTTP server on a free port), and the authorization-code dance through the pages."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwk, jwt

from loginguard.actions.clients import Registered, client_create
from tests.conftest import PASSWORD, Personas, Visitor, last_code

REDIRECT = "https://campaigns.example/oidc/callback/"


def new_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        server: Any = self.server
        server.received.append(parse_qs(body))
        self.send_response(server.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Backchannel:
    url: str
    server: Any
    received: list[dict[str, list[str]]] = field(default_factory=list)

    def tokens(self) -> list[str]:
        return [item["logout_token"][0] for item in self.server.received]


@pytest.fixture
def backchannel() -> Iterator[Backchannel]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Backchannel(url=f"http://127.0.0.1:{server.server_port}/backchannel",
                      server=server, received=server.received)
    server.shutdown()


@pytest.fixture
def app(personas: Personas, backchannel: Backchannel) -> Registered:
    """A platform-wide confidential client with a back-channel URI (on this machine: the
    operator's flag for private addresses)."""
    return client_create(name="Acme Campaigns", redirect_uris=[REDIRECT], public=False,
                         backchannel_logout_uri=backchannel.url, allow_private=True)


@dataclass
class Pkce:
    verifier: str
    challenge: str


def pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return Pkce(verifier, challenge)


def authorize_path(client_id: str, challenge: str, *, scope: str = "openid profile email",
                   redirect_uri: str = REDIRECT, **extra: str) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "scope": scope, "state": "st-123", "nonce": "n-456", "code_challenge": challenge,
             "code_challenge_method": "S256", **extra}
    return f"/o/authorize/?{urlencode(query)}"


def code_from(response: Any) -> str:
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    assert location.startswith(REDIRECT), location
    params = parse_qs(urlsplit(location).query)
    assert params["state"] == ["st-123"]
    return params["code"][0]


def sign_in_from(visitor: Visitor, user: Any, login_location: str, *,
                 trust: str = "no") -> Any:
    """The sign-in a browser sent to ``/login/?next=…`` does: the form posts ``next``."""
    target = parse_qs(urlsplit(login_location).query)["next"][0]
    response = visitor.post("/login/", {"username": user.username, "password": PASSWORD,
                                        "next": target})
    if response.headers.get("Location") == "/login/verify/":
        response = visitor.code(last_code(user.email))
    if response.headers.get("Location") == "/login/trust/":
        response = visitor.trust(trust, "My laptop")
    return response


def authorize(visitor: Visitor, app: Registered, proof: Pkce, **extra: str) -> Any:
    """GET /o/authorize, following loginguard's own pages is left to the caller."""
    return visitor.get(authorize_path(app.client_id, proof.challenge, **extra))


def exchange(visitor: Visitor, app: Registered, code: str, verifier: str | None, *,
             secret: str | None = None, redirect_uri: str = REDIRECT) -> Any:
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": redirect_uri, "client_id": app.client_id,
            "client_secret": app.secret if secret is None else secret}
    if verifier is not None:
        data["code_verifier"] = verifier
    return visitor.client.post("/o/token/", data)


def refresh(visitor: Visitor, app: Registered, token: str) -> Any:
    return visitor.client.post("/o/token/", {
        "grant_type": "refresh_token", "refresh_token": token, "client_id": app.client_id,
        "client_secret": app.secret})


def claims_of(id_token: str, pem: str) -> dict[str, Any]:
    key = jwk.JWK.from_pem(pem.encode())
    return dict(json.loads(jwt.JWT(key=key, jwt=id_token).claims))
