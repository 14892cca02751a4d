"""SPEC §2 step 1: one generic answer for every reason a sign-in fails."""

from __future__ import annotations

import re

import pytest

from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, Visitor, deliver


def page_without_csrf(response: object) -> bytes:
    content = response.content  # type: ignore[attr-defined]
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def attempt(username: str, password: str) -> tuple[int, bytes]:
    response = Visitor().password(username, password)
    return response.status_code, page_without_csrf(response)


@pytest.mark.parametrize("case", ["wrong_password", "inactive", "suspended_account",
                                  "suspended_reseller", "unknown", "empty"])
def test_every_failure_is_byte_identical(personas: Personas, case: str) -> None:
    reference = attempt("nobody-here", PASSWORD)
    if case == "wrong_password":
        result = attempt("bob", "not-the-password-123")
    elif case == "inactive":
        User.objects.filter(pk=personas.member.pk).update(is_active=False)
        result = attempt("bob", PASSWORD)
    elif case == "suspended_account":
        personas.account.is_active = False
        personas.account.save()
        result = attempt("bob", PASSWORD)
    elif case == "suspended_reseller":
        personas.reseller.is_active = False
        personas.reseller.save()
        result = attempt("rita", PASSWORD)
    elif case == "empty":
        result = attempt("", "")
    else:
        result = attempt("nobody-else", PASSWORD)
    assert result == reference
    assert result[0] == 200 and b"That username and password don" in result[1]
    assert deliver() == []


@pytest.mark.parametrize("data", [
    {}, {"username": "bob"}, {"password": PASSWORD}, {"username": "bob" * 5000, "password": "x"},
    {"username": "bob", "password": "x" * 100_000}, {"username": "\x00", "password": "\x00"},
    {"username": ["bob", "alice"], "password": PASSWORD},
])
def test_malformed_password_posts_get_the_generic_answer(personas: Personas,
                                                         data: dict[str, object]) -> None:
    response = Visitor().post("/login/", data)
    assert response.status_code == 200
    assert b"That username and password don" in response.content or b"Too many" in response.content
    assert deliver() == []


def test_inactive_user_with_the_right_password_gets_no_code(personas: Personas) -> None:
    User.objects.filter(pk=personas.member.pk).update(is_active=False)
    Visitor().password("bob")
    assert deliver() == []


@pytest.mark.parametrize("length", [1025, 100_000])
def test_an_over_long_password_is_never_hashed_in_full(personas: Personas, length: int,
                                                       hashed_lengths: list[int]) -> None:
    # Argon2's cost grows with its input: a megabyte "password" must not buy CPU. One
    # bounded verify still runs, so the answer takes as long as any other failure.
    response = Visitor().post("/login/", {"username": "bob", "password": "x" * length})
    assert b"That username and password don" in response.content
    assert hashed_lengths == [1024]
