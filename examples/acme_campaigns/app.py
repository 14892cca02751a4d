"""Acme Campaigns: a small platform app that signs its users in with loginguard
(OpenID Connect, docs/sso.md). The relying party is Authlib's Django client (discovery,
PKCE, state, nonce and ID-token validation are Authlib's, not ours); the back-channel
logout endpoint validates loginguard's logout token with Authlib's JOSE.

One file on purpose: a platform developer should read it in one sitting.

Run (``make run`` does it): ACME_CLIENT_ID=… ACME_CLIENT_SECRET=… \\
    granian --interface wsgi examples.acme_campaigns.app:application --port 8001
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django
from django.conf import settings

VAR = Path(os.environ.get("ACME_VAR_DIR", Path.cwd() / "var" / "acme"))
ISSUER = os.environ.get("ACME_ISSUER", "http://localhost:8000").rstrip("/")
BASE_URL = os.environ.get("ACME_BASE_URL", "http://127.0.0.1:8001").rstrip("/")

if not settings.configured:
    settings.configure(
        DEBUG=False, SECRET_KEY=os.environ.get("ACME_SECRET_KEY", "acme-demo-only-" + "x" * 40),
        ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        # Client-side sessions and a file cache: nothing to migrate. Its own cookie name:
        # loginguard's cookies live on the same host in the demo.
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        SESSION_COOKIE_NAME="acme_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                            "LOCATION": str(VAR / "cache")}},
        TEMPLATES=[], USE_TZ=True,
        AUTHLIB_OAUTH_CLIENTS={"loginguard": {
            "client_id": os.environ.get("ACME_CLIENT_ID", ""),
            "client_secret": os.environ.get("ACME_CLIENT_SECRET", ""),
            "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration",
            "client_kwargs": {"scope": "openid profile email account",
                              "code_challenge_method": "S256"},
        }},
    )
    django.setup()

from authlib.integrations.django_client import OAuth  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.html import escape  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.errors import JoseError  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402

oauth = OAuth()
oauth.register("loginguard")
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def page(title: str, body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body style='font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;"
        f"padding:0 1rem'><h1>{title}</h1>{body}</body></html>", status=status)


def signed_in(request: HttpRequest) -> dict[str, Any] | None:
    """The signed-in user's claims, unless loginguard has logged that session out."""
    user = request.session.get("user")
    if user and cache.get(f"logged-out:{user['sid']}"):
        request.session.flush()  # told by the back channel: this session is over
        return None
    return user


def home(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if user is None:
        return page("Acme Campaigns", "<p>Plan and send your campaigns.</p>"
                    "<p><a href='/login/'>Sign in with loginguard</a></p>")
    account = (user.get("account") or {}).get("name") or ", ".join(
        a["name"] for a in user.get("accounts", [])) or "—"
    return page("Acme Campaigns", f"""
        <p>Signed in as <strong data-testid="username">{escape(user['preferred_username'])}</strong>
        ({escape(user.get('email', ''))}).</p>
        <ul><li>Account: <strong data-testid="account">{escape(account)}</strong></li>
        <li>Role: <strong data-testid="role">{escape(user.get('role', ''))}</strong></li>
        <li>Proved with: {escape(' + '.join(user.get('amr', [])))}</li></ul>
        <form method="post" action="/logout/"><button type="submit">Log out</button></form>""")


def login(request: HttpRequest) -> HttpResponse:
    return oauth.loginguard.authorize_redirect(request, f"{BASE_URL}/oidc/callback/")


def callback(request: HttpRequest) -> HttpResponse:
    try:
        token = oauth.loginguard.authorize_access_token(request)
    except Exception as exc:  # an error answer (access_denied, login_required, ...)
        return page("Sign-in did not complete", f"<p>{escape(exc)}</p>"
                    "<p><a href='/login/'>Try again</a></p>", status=400)
    claims = dict(token["userinfo"])
    request.session["user"] = claims
    request.session["id_token"] = token["id_token"]
    return HttpResponseRedirect("/")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Log out here and at loginguard (RP-initiated logout)."""
    id_token = request.session.get("id_token", "")
    request.session.flush()
    metadata = oauth.loginguard.load_server_metadata()
    return HttpResponseRedirect(
        f"{metadata['end_session_endpoint']}?id_token_hint={id_token}"
        f"&post_logout_redirect_uri={BASE_URL}/")


@csrf_exempt
@require_POST
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    """OpenID Connect Back-Channel Logout 1.0 §2.6: validate, then end that session."""
    metadata = oauth.loginguard.load_server_metadata()
    keys = KeySet.import_key_set(oauth.loginguard.fetch_jwk_set())
    expected = jwt.JWTClaimsRegistry(
        leeway=60, iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True,
             "value": settings.AUTHLIB_OAUTH_CLIENTS["loginguard"]["client_id"]},
        iat={"essential": True}, sid={"essential": True}, events={"essential": True})
    try:
        token = jwt.decode(request.POST.get("logout_token", ""), keys, algorithms=["RS256"])
        expected.validate(token.claims)
    except (JoseError, ValueError):
        return HttpResponse("invalid logout token", status=400)
    claims = token.claims
    if EVENT not in (claims.get("events") or {}) or "nonce" in claims:
        return HttpResponse("not a logout token", status=400)
    cache.set(f"logged-out:{claims['sid']}", True, 12 * 3600)
    return HttpResponse(status=200, headers={"Cache-Control": "no-store"})


urlpatterns = [
    path("", home),
    path("login/", login),
    path("oidc/callback/", callback),
    path("logout/", logout),
    path("backchannel-logout/", backchannel_logout),
]

application = WSGIHandler()
