"""The code exchange under concurrency (SPEC §11): real threads, each with its own
database connection, against PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from oauth2_provider.models import AccessToken

from loginguard.actions.clients import Registered
from tests.conftest import Personas, Visitor
from tests.signin.test_race import in_parallel
from tests.sso.conftest import REDIRECT, authorize, code_from, pkce

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # SQLite runs one writer at a time, so it cannot show a race; CI runs this file on
    # PostgreSQL (the second `make test` in .ci/run).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def test_one_code_exchanged_ten_times_at_once_gets_tokens_once(
        personas: Personas, app: Registered) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    proof = pkce()
    code = code_from(authorize(visitor, app, proof))
    clients = iter([Client() for _ in range(10)])
    lock = threading.Lock()

    def exchange() -> Any:
        with lock:
            client = next(clients)
        return client.post("/o/token/", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": app.client_id, "client_secret": app.secret,
            "code_verifier": proof.verifier}).status_code

    statuses = in_parallel(10, exchange)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 400}
    assert AccessToken.objects.count() <= 1


def test_six_refreshes_of_one_refresh_token_at_once_never_answer_500(
        personas: Personas, app: Registered) -> None:
    """Issue 25, finding 11: one of six parallel refreshes got a 500 (the toolkit re-read
    an access token that the reuse sweep of another had just deleted)."""
    from tests.sso.conftest import exchange

    for _ in range(3):  # the window is narrow: three bursts, each on a fresh family
        visitor = Visitor()
        visitor.sign_in(personas.member)
        proof = pkce()
        tokens = exchange(visitor, app, code_from(authorize(visitor, app, proof)),
                          proof.verifier).json()
        clients = iter([Client() for _ in range(6)])
        lock = threading.Lock()

        def refresh(token: str = tokens["refresh_token"], lock: Any = lock,
                    clients: Any = clients) -> Any:
            with lock:
                client = next(clients)
            response = client.post("/o/token/", {
                "grant_type": "refresh_token", "refresh_token": token,
                "client_id": app.client_id, "client_secret": app.secret})
            return response.status_code, response.json().get("error")

        results = in_parallel(6, refresh)
        assert {status for status, _ in results} <= {200, 400}, results
        assert all(error in (None, "invalid_grant") for _, error in results), results
