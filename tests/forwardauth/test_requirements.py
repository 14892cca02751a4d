"""X-Auth-Require: a route demands a role, an account or a code entered in this sign-in;
a mismatch is 403 with a short reason, a header that cannot be read is 403 too."""

from __future__ import annotations

import pytest

from loginguard.forwardauth import requirements
from loginguard.forwardauth.requirements import Requirement, Unreadable
from tests.conftest import Personas, Visitor
from tests.forwardauth.test_forward import forward


def signed_in(user: object, *, trust: str = "no") -> Visitor:
    visitor = Visitor()
    visitor.sign_in(user, trust=trust)  # type: ignore[arg-type]
    return visitor


@pytest.mark.parametrize(("header", "parsed"), [
    ("role=client_admin", [Requirement("role", ("client_admin",))]),
    (" role = client_admin | reseller_user ,fresh-code",
     [Requirement("role", ("client_admin", "reseller_user")), Requirement("fresh-code")]),
    ("account=42|0057", [Requirement("account", ("42", "57"))]),
])
def test_the_header_parses(header: str, parsed: list[Requirement]) -> None:
    assert requirements.parse(header) == parsed


@pytest.mark.parametrize("header", [
    # Present but empty, or what a server makes of non-ASCII bytes (issue 25, finding 3):
    # never "no requirement".
    "", " ", ",", "role=client_admin\xc2\xa0", "role=client_admin\xa0", "role=client_adminé",
    "role=client_admin\x00",
    "role=admin", "role=", "role", "account=abc", "account=-1", "account=٣", "account=0",
    "fresh_code", "role=client_admin|", "group=staff", "x" * 2000, ",".join(["fresh-code"] * 17),
])
def test_a_header_that_cannot_be_read_is_refused(header: str) -> None:
    with pytest.raises(Unreadable):
        requirements.parse(header)


def test_role(personas: Personas) -> None:
    member = signed_in(personas.member)
    response = forward(member, HTTP_X_AUTH_REQUIRE="role=client_admin")
    assert response.status_code == 403
    assert response.headers["X-Auth-Reason"] == "this app needs the role client_admin"
    assert "X-Auth-User" not in response.headers
    assert forward(member, HTTP_X_AUTH_REQUIRE="role=client_admin|client_user"
                   ).status_code == 200
    assert forward(signed_in(personas.admin), HTTP_X_AUTH_REQUIRE="role=client_admin"
                   ).status_code == 200


def test_account(personas: Personas) -> None:
    own, other = personas.account.pk, personas.other_account.pk
    member = signed_in(personas.member)
    assert forward(member, HTTP_X_AUTH_REQUIRE=f"account={own}").status_code == 200
    response = forward(member, HTTP_X_AUTH_REQUIRE=f"account={other}")
    assert (response.status_code, response.headers["X-Auth-Reason"]) == (
        403, "this app is for another client account")
    # A reseller user passes for an account they are connected to, and no other.
    rita = signed_in(personas.reseller_user)
    assert forward(rita, HTTP_X_AUTH_REQUIRE=f"account={own}").status_code == 200
    assert forward(rita, HTTP_X_AUTH_REQUIRE=f"account={other}").status_code == 403
    assert forward(signed_in(personas.other_reseller_user),
                   HTTP_X_AUTH_REQUIRE=f"account={own}").status_code == 403


def test_a_suspended_connected_account_no_longer_passes(personas: Personas) -> None:
    rita = signed_in(personas.reseller_user)
    type(personas.account).objects.filter(pk=personas.account.pk).update(is_active=False)
    assert forward(rita, HTTP_X_AUTH_REQUIRE=f"account={personas.account.pk}"
                   ).status_code == 403


def test_fresh_code_wants_a_code_in_this_sign_in(personas: Personas) -> None:
    with_code = signed_in(personas.member, trust="yes")
    assert forward(with_code, HTTP_X_AUTH_REQUIRE="fresh-code").status_code == 200
    # The same browser, now trusted, signs in again without a code.
    with_code.post("/logout/")
    assert with_code.password(personas.member.username).headers["Location"] == "/"
    response = forward(with_code, HTTP_X_AUTH_REQUIRE="fresh-code")
    assert response.status_code == 403
    assert "trusted device" in response.headers["X-Auth-Reason"]


def test_all_terms_must_hold(personas: Personas) -> None:
    admin = signed_in(personas.admin)
    assert forward(admin, HTTP_X_AUTH_REQUIRE=f"role=client_admin, account={personas.account.pk}"
                   ).status_code == 200
    assert forward(admin, HTTP_X_AUTH_REQUIRE=(
        f"role=client_admin, account={personas.other_account.pk}")).status_code == 403


def test_an_unreadable_header_is_403_not_ignored(personas: Personas) -> None:
    response = forward(signed_in(personas.member), HTTP_X_AUTH_REQUIRE="role=superuser")
    assert response.status_code == 403
    assert "X-Auth-Require" in response.headers["X-Auth-Reason"]


def test_a_requirement_never_lets_an_anonymous_browser_through(db: None) -> None:
    assert forward(Visitor(), HTTP_X_AUTH_REQUIRE="").status_code == 401
