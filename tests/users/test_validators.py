"""users/: the character sets of usernames and names (review finding 11–12) and the one
password cap."""

from __future__ import annotations

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from loginguard.users.validators import MAX_PASSWORD, charset_error


@pytest.mark.parametrize("name", ["alice", "Ａｌｉｃｅ", "john.doe", "bob@acme.example", "a_b+c-d"])
def test_usernames_that_pass(name: str) -> None:
    assert charset_error(name, username=True) is None


@pytest.mark.parametrize("name", ["a b", "nul\x00l", "line\nbreak", "x/y", "http://evil",
                                  "www.evil.example", "tab\tname", "bell\x07"])
def test_usernames_that_are_refused(name: str) -> None:
    assert charset_error(name, username=True)


@pytest.mark.parametrize("name", ["Acme Corp", "O'Brien & Sons (UK)", "Jean-Luc", "Müller",
                                  "J. Smith"])
def test_names_that_pass(name: str) -> None:
    assert charset_error(name, username=False) is None


@pytest.mark.parametrize("name", ["https://evil", "see www.evil.example", "a\nb", "a\x00",
                                  "x/y", "Acme: call now"])
def test_names_that_are_refused(name: str) -> None:
    assert charset_error(name, username=False)


def test_the_password_policy_stops_at_the_hashing_cap() -> None:
    assert MAX_PASSWORD == 1024
    password_validation.validate_password("correct-horse-" * 73)  # 1,022 characters
    with pytest.raises(ValidationError, match="too long"):
        password_validation.validate_password("correct-horse-" * 74)  # 1,036
