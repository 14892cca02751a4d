"""Every page and every form, fed generated input by hypothesis, answers with a page, a
redirect or a 4xx — never a 500 — for each kind of visitor: anonymous, half-way through a
sign-in, a client admin with an unlocked Security section, a reseller user with an
unlocked Security section in the gateway.

Each route gets its own bounded run (so none is left to chance), with the fields its form
reads plus a few it does not, valued with typical mistakes and arbitrary text, and ids
that exist (the visitor's, their account's, other tenants') or are garbage. Each example
runs in a savepoint that is rolled back and starts from the same cookies, so one example's
effect (a changed password, a removed device) does not hide the next one's path. The
hand-written bad-input tests beside each feature check what the answer says; this one
checks that no input finds an unhandled path.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauth2_provider.models import Application

from loginguard.actions.clients import client_create
from loginguard.actions.users import NOTIFICATIONS
from loginguard.apitokens.models import ApiToken
from loginguard.apitokens.services import api_token_create
from loginguard.devices.models import TrustedDevice
from loginguard.record.views import DETAIL_FIELDS
from loginguard.signin.models import UserSession
from loginguard.users.models import User
from loginguard.web.browser import COOKIE_FREE
from tests.conftest import PASSWORD, Personas, Visitor

pytestmark = pytest.mark.django_db

DETAILS = sorted(DETAIL_FIELDS)
PASSWORDS = ["new_password1", "new_password2"]
AUTHORIZE = ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
             "code_challenge", "code_challenge_method", "prompt", "max_age", "acr_values"]
RP_LOGOUT = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state"]
# Every page (GET, with the query parameters some of them read) and every form (POST, with
# the fields it reads); {} is where an id goes.
# The passkey endpoints read a JSON body (form fields are no answer to them; JSON is
# fuzzed in tests/factors/test_passkey_views.py); the other factor forms read fields.
PASSKEY_JSON = ["/login/passkey/options/", "/login/passkey/",
                "/login/verify/passkey/options/", "/login/verify/passkey/",
                "/password/reset/{}/factor/passkey/options/",
                "/password/reset/{}/factor/passkey/", "/security/unlock/passkey/options/",
                "/security/unlock/passkey/", "/security/factors/passkeys/options/",
                "/security/factors/passkeys/add/"]
FACTOR_FORMS = {"/login/verify/method/": ["method"], "/login/recovery/": ["recovery_code"],
                "/security/factors/enroll/": [],
                "/security/factors/passkeys/{}/rename/": ["name"],
                "/security/factors/passkeys/{}/remove/": [],
                "/security/factors/apps/add/": ["name", "code"],
                "/security/factors/apps/{}/remove/": [],
                "/security/factors/recovery-codes/": [],
                "/security/factors/recovery-codes/remove/": [],
                "/gateway/factor-policy/": ["factor_policy", "accounts_factor_policy"],
                "/accounts/{}/factor-policy/": ["factor_policy", "admin_factor_policy"],
                "/accounts/{}/users/{}/reset-factors/": []}
FACTOR_PATHS = [*PASSKEY_JSON, *FACTOR_FORMS]
PAGES = {"/": [], "/about/": [], "/login/": ["next"], "/login/verify/": [], "/login/trust/": [],
         "/logout/": [], "/auth/forward": [], "/login/verify/resend/": [],
         "/security/unlock/": [], "/security/lock/": [], "/security/password/": [],
         "/security/tokens/create/": [], "/security/devices/{}/rename/": [],
         "/security/devices/{}/remove/": [], "/security/devices/remove-all/": [],
         "/security/sessions/end-others/": [], "/security/sessions/{}/end/": [],
         "/security/tokens/{}/revoke/": [], "/users/{}/deactivate/": [],
         "/users/{}/reactivate/": [], "/users/{}/email/confirm/": [],
         "/users/{}/email/cancel/": [], "/users/{}/email/approve/": [],
         "/gateway/ip-policy/": [], "/gateway/accounts/{}/rename/": [],
         "/gateway/accounts/{}/suspend/": [], "/gateway/accounts/{}/resume/": [],
         "/gateway/accounts/{}/connect/": [], "/gateway/accounts/{}/disconnect/{}/": [],
         "/accounts/{}/invite/": [], "/accounts/{}/users/{}/reset/": [],
         "/accounts/{}/ip-policy/": [],
         "/password/reset/": [], "/password/reset/{}/{}/": [], "/invite/{}/{}/": [],
         "/password/reset/{}/set-password/": [], "/invite/{}/set-password/": [],
         "/users/{}/": ["log_page"], "/users/{}/permissions/": [],
         "/users/{}/notifications/": [], "/gateway/": ["log_page"],
         "/gateway/accounts/{}/": [], "/accounts/{}/": ["show", "factors"],
         "/accounts/{}/log/": ["page", "user", "type", "ip", "since"],
         # The security overview (issue 29).
         "/accounts/{}/overview/": ["days"], "/accounts/{}/overview/charts/{}.svg": ["days"],
         "/accounts/{}/overview/{}.csv": ["days"], "/overview/": ["days"],
         "/overview/charts/{}.svg": ["days"], "/overview/{}.csv": ["days"],
         "/security/alerts/{}/": [],
         "/security/apps/{}/disconnect/": [], "/accounts/{}/apps/": [],
         "/accounts/{}/apps/{}/delete/": [],
         # Single sign-on (sso/urls.py, an include): every parameter the provider reads.
         "/o/authorize/": AUTHORIZE, "/o/userinfo/": [], "/o/logout/": RP_LOGOUT,
         "/.well-known/openid-configuration": [], "/o/.well-known/jwks.json": [],
         # Factors beyond the mailbox (SPEC §14).
         **{path: [] for path in FACTOR_PATHS}, "/login/passkey/options/": ["next"]}
FORMS = {"/login/": ["username", "password", "next"], "/login/verify/": ["code"],
         "/auth/forward": [], "/users/{}/deactivate/": [], "/users/{}/reactivate/": [],
         "/gateway/ip-policy/": ["ip_match"], "/gateway/accounts/{}/rename/": ["name"],
         "/gateway/accounts/{}/suspend/": [], "/gateway/accounts/{}/resume/": [],
         "/login/verify/resend/": [], "/login/trust/": ["trust", "device_name"],
         "/logout/": [], "/password/reset/": ["email"],
         "/password/reset/{}/{}/": [*PASSWORDS, "step", "code", "recovery_code"],
         "/invite/{}/{}/": PASSWORDS, "/users/{}/": DETAILS,
         "/users/{}/permissions/": ["is_client_admin", "is_active"],
         "/users/{}/notifications/": list(NOTIFICATIONS), "/users/{}/email/confirm/": ["code"],
         "/users/{}/email/cancel/": [], "/users/{}/email/approve/": [],
         "/password/reset/{}/set-password/": [*PASSWORDS, "step", "code", "recovery_code"],
         "/invite/{}/set-password/": PASSWORDS,
         "/security/unlock/": ["password", "code", "recovery_code"],
         "/security/lock/": [], "/security/devices/remove-all/": [],
         "/security/devices/{}/rename/": ["name"], "/security/devices/{}/remove/": [],
         "/security/sessions/end-others/": [], "/security/sessions/{}/end/": [],
         "/security/password/": ["current_password", *PASSWORDS],
         "/security/tokens/create/": ["name", "expires_in_days"],
         "/security/tokens/{}/revoke/": [], "/security/alerts/{}/": ["answer"],
         "/gateway/": ["name", "admin_username", "admin_email"],
         "/gateway/accounts/{}/connect/": ["user_id"],
         "/gateway/accounts/{}/disconnect/{}/": [],
         "/accounts/{}/invite/": ["username", "email", "is_client_admin"],
         "/accounts/{}/users/{}/reset/": [], "/accounts/{}/ip-policy/": ["ip_match"],
         "/security/apps/{}/disconnect/": [],
         "/accounts/{}/apps/": ["name", "redirect_uri", "backchannel_logout_uri", "public"],
         "/accounts/{}/apps/{}/delete/": [],
         "/o/authorize/": [*AUTHORIZE, "allow", "claims", "consent"],
         "/o/token/": ["grant_type", "code", "redirect_uri", "client_id", "client_secret",
                       "code_verifier", "refresh_token", "scope"],
         "/o/revoke_token/": ["token", "token_type_hint", "client_id", "client_secret"],
         "/o/introspect/": ["token", "token_type_hint", "client_id", "client_secret"],
         "/o/userinfo/": ["access_token"], "/o/logout/": [*RP_LOGOUT, "allow"],
         **{path: ["credential", "name"] for path in PASSKEY_JSON}, **FACTOR_FORMS}
REQUESTS = [("GET", path) for path in PAGES] + [("POST", path) for path in FORMS]
# Routes the fuzzing leaves to their own tests: the JSON API (schemathesis) and the demo
# mailbox (absent in production: 404 here).
NOT_FUZZED = {"/api/v1/", "/dev/mailbox/", "/dev/mailbox/{}/", "/dev/mailbox/{}/html/"}


def test_every_route_is_fuzzed() -> None:
    """A new URL goes into PAGES or FORMS (or NOT_FUZZED with a reason)."""
    import re as regex

    from django.urls import URLPattern, get_resolver

    routes = {"/" + regex.sub(r"<[^>]+>", "{}", str(p.pattern))
              for p in get_resolver().url_patterns if isinstance(p, URLPattern)
              and not str(p.pattern).startswith("^")}
    missing = routes - set(PAGES) - set(FORMS) - NOT_FUZZED
    assert not missing, sorted(missing)
# Fields no form of loginguard accepts: mass assignment, tokens in the body, redirects.
STRANGERS = ["role", "account", "kind", "is_staff", "password", "token", "access_token",
             "next", "user"]

TRICKY = ["", " ", "on", "off", "yes", "no", "true", "0", "-1", "1.5", "7", "90", "366",
          "99999999999999999999999", "exact", "network", "UTC", "Mars/Olympus", "x" * 5000,
          "\x00", "a\x00b", "١٢٣٤٥٦", "123456", "<script>", "' OR 1=1 --", "%00",
          "../../etc/passwd", "é" * 70, "alice", "bob@acme.example", PASSWORD,
          # A registered app's values (see fuzz_app), so /o/ routes get past the client check.
          "fuzz-client", "https://fuzz.example/cb", "S256", "openid", "openid account",
          "code", "none", "login", "urn:loginguard:code", "a" * 43]
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30))
field_values = st.one_of(values, values, st.lists(values, min_size=2, max_size=3))
garbage_ids = st.one_of(st.sampled_from(["0", "-1", "1e3", "00001", " 1", "1 ", "NaN", "٣",
                                         "9223372036854775807", "9223372036854775808",
                                         "99999999999999999999999", "\x00", "%", "..",
                                         "x" * 300]),
                        st.integers(min_value=-2**70, max_value=2**70).map(str),
                        st.text(min_size=1, max_size=20))

FUZZ = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def fuzz_app(personas: Personas) -> None:
    """An account app with a known client id and redirect URI (values in TRICKY)."""
    registered = client_create(name="Fuzz app", redirect_uris=["https://fuzz.example/cb"],
                               public=False, account=personas.account)
    Application.objects.filter(pk=registered.client.application_id).update(
        client_id="fuzz-client")


def fuzz_factors(personas: Personas) -> None:
    """Factors to aim at: the half-way visitor (bob) has an app and recovery codes, so his
    second step asks for the app; another tenant's user has a passkey and an app."""
    from loginguard.factors.models import Passkey
    from loginguard.lib import clock
    from tests.factors.conftest import add_app, add_recovery_codes

    add_app(personas.member)
    add_recovery_codes(personas.member)
    add_app(personas.stranger)
    Passkey.objects.create(user=personas.stranger, name="Sam's key",
                           credential_id=b"fuzz-credential", public_key=b"not-a-key",
                           created_at=clock.now())


def visitor_as(actor: str, personas: Personas) -> Visitor:
    fuzz_app(personas)
    fuzz_factors(personas)
    visitor = Visitor()
    visitor.get("/login/")  # every visitor holds a CSRF cookie, as a browser would
    if actor == "half-way":
        response = visitor.password(personas.member.username)
        assert response.headers["Location"] == "/login/verify/"
    elif actor != "anonymous":
        user = {"client admin": personas.admin, "reseller user": personas.reseller_user}[actor]
        response = visitor.sign_in(user, trust="yes", name="Fuzz laptop")
        assert response.headers["Location"] == "/"
        assert visitor.post("/security/unlock/", {"password": PASSWORD}).status_code == 302
        if user.account_id:
            api_token_create(user=user, name="fuzz", days=7)
    return visitor


def existing_ids(personas: Personas) -> list[str]:
    """The visitor's own objects, their account's, and other tenants'."""
    ids = [personas.account.pk, personas.other_account.pk, personas.reseller.pk]
    from loginguard.factors.models import AuthenticatorApp, Passkey

    for model in (User, TrustedDevice, UserSession, ApiToken, Passkey, AuthenticatorApp):
        ids += model.objects.values_list("pk", flat=True)
    return [str(i) for i in ids]


ACTORS = ["anonymous", "half-way", "client admin", "reseller user"]
# The cookie-free routes (the JSON API's and the provider's token endpoints) never read the
# session, so every visitor is the anonymous one there: fuzzed once.
CASES = [(actor, method, route) for method, route in REQUESTS for actor in ACTORS
         if actor == "anonymous" or not route.startswith(COOKIE_FREE)]


@pytest.mark.parametrize(("actor", "method", "route"), CASES)
def test_no_input_is_a_server_error(personas: Personas, actor: str, method: str,
                                    route: str) -> None:
    visitor = visitor_as(actor, personas)
    cookies = {name: morsel.value for name, morsel in visitor.client.cookies.items()}
    fields = (PAGES if method == "GET" else FORMS)[route]
    names = st.one_of(st.sampled_from(STRANGERS), st.text(min_size=1, max_size=8))
    if fields:  # mostly the form's own fields
        names = st.one_of(st.sampled_from(fields), st.sampled_from(fields), names)
    existing = st.sampled_from(existing_ids(personas))
    ids = st.one_of(existing, existing, garbage_ids)  # mostly ids that exist

    @FUZZ
    @given(path_ids=st.lists(ids, min_size=route.count("{}"), max_size=route.count("{}")),
           data=st.dictionaries(names, field_values, max_size=5))
    def request(path_ids: list[str], data: dict[str, str | list[str]]) -> None:
        path = route.format(*(quote(i, safe="") for i in path_ids))
        visitor.client.cookies = SimpleCookie()
        for name, value in cookies.items():
            visitor.client.cookies[name] = value
        with transaction.atomic():
            if method == "GET":
                response = visitor.client.get(path + ("?" + urlencode(data, doseq=True)
                                                      if data else ""))
            else:
                token = cookies[django_settings.CSRF_COOKIE_NAME]
                response = visitor.client.post(path, {**data, "csrfmiddlewaretoken": token})
            # An unhandled exception is re-raised by the test client and fails the test too.
            assert response.status_code < 500, (path, data, response.status_code)
            transaction.set_rollback(True)
    request()
