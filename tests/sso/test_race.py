"""The code exchange under concurrency (SPEC §11): real threads, each with its own
database connection, against PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from oauth2_provider.models import AccessToken

from loginguard.sso.services import Registered
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
