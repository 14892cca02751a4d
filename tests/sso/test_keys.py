"""The signing key (SPEC §11): from a file, refused loudly when unusable, and rotated by
publishing the next key before it signs (docs/sso.md "Rotating the key")."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from jwcrypto import jwk, jwt

from loginguard.actions.clients import Registered, client_create
from tests.conftest import Personas, Visitor
from tests.sso.conftest import REDIRECT, authorize, code_from, exchange, new_pem, pkce


def thumbprint(pem: str) -> str:
    return str(jwk.JWK.from_pem(pem.encode()).thumbprint())


def id_token_kid(visitor: Visitor, app: Registered) -> tuple[str, str]:
    proof = pkce()
    code = code_from(authorize(visitor, app, proof))
    token = exchange(visitor, app, code, proof.verifier).json()["id_token"]
    return json.loads(_header(token))["kid"], token


def _header(token: str) -> str:
    import base64

    part = token.split(".")[0]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


@pytest.mark.django_db
def test_rotation_publishes_the_next_key_before_it_signs(
        settings: Any, personas: Personas, app: Registered, signing_pem: str) -> None:
    old, new = signing_pem, new_pem()
    visitor = Visitor()
    visitor.sign_in(personas.member)
    # Step 1: the next key is published, the old one still signs.
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER,
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [new]}
    kids = [key["kid"] for key in visitor.get("/o/.well-known/jwks.json").json()["keys"]]
    assert kids == [thumbprint(old), thumbprint(new)]
    assert id_token_kid(visitor, app)[0] == thumbprint(old)
    # Step 3: swapped; tokens carry the new kid and verify with the published key.
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": new,
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old]}
    published = {key["kid"]: key for key in
                 visitor.get("/o/.well-known/jwks.json").json()["keys"]}
    kid, token = id_token_kid(visitor, app)
    assert kid == thumbprint(new) and set(published) == {thumbprint(old), thumbprint(new)}
    public = jwk.JWK(**{k: v for k, v in published[kid].items() if k not in ("alg", "use")})
    assert jwt.JWT(key=public, jwt=token).claims
    assert "d" not in published[kid]


@pytest.mark.django_db
def test_check_fails_when_apps_exist_but_no_signing_key(settings: Any,
                                                         personas: Personas) -> None:
    keyed = settings.OAUTH2_PROVIDER
    settings.OAUTH2_PROVIDER = {**keyed, "OIDC_RSA_PRIVATE_KEY": ""}
    call_command("check")  # nothing registered yet: fine without a key
    with pytest.raises(ValidationError, match="OIDC_PRIVATE_KEY_FILE"):
        client_create(name="Reports", redirect_uris=[REDIRECT], public=False)
    settings.OAUTH2_PROVIDER = keyed
    client_create(name="Reports", redirect_uris=[REDIRECT], public=False)
    settings.OAUTH2_PROVIDER = {**keyed, "OIDC_RSA_PRIVATE_KEY": ""}  # the key went away
    with pytest.raises(SystemCheckError, match="OIDC_PRIVATE_KEY_FILE"):
        call_command("check")


def start(tmp_path: Path, key_file: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'k.sqlite3'}",
           "SECRET_KEY": secrets.token_urlsafe(50), "OIDC_PRIVATE_KEY_FILE": key_file}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([sys.executable, "-m", "loginguard.cli", "check"], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_missing_or_wrong_key_file_stops_start_up_with_the_variable_named(
        tmp_path: Path) -> None:
    missing = start(tmp_path, str(tmp_path / "nope.pem"))
    assert missing.returncode != 0
    assert "OIDC_PRIVATE_KEY_FILE" in missing.stderr and "cannot be read" in missing.stderr
    assert "Traceback" not in missing.stderr
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    wrong = start(tmp_path, str(tmp_path / "cert.pem"))
    assert wrong.returncode != 0 and "does not hold a PEM private key" in wrong.stderr
    (tmp_path / "good.pem").write_text(new_pem())
    assert start(tmp_path, str(tmp_path / "good.pem")).returncode == 0
