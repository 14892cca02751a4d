from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loginguard.users.models import User
from tests.conftest import PASSWORD, Visitor


@pytest.fixture
def signed_in() -> Callable[..., Visitor]:
    def sign_in(user: User, *, ip: str = "198.51.100.23", trust: str = "no",
                **kwargs: object) -> Visitor:
        visitor = Visitor(ip=ip, **kwargs)  # type: ignore[arg-type]
        response = visitor.sign_in(user, trust=trust)
        assert response.headers["Location"] == "/", response
        return visitor
    return sign_in


def unlock(visitor: Visitor, password: str = PASSWORD, follow: bool = False) -> Any:
    return visitor.post("/security/unlock/", {"password": password}, follow=follow)
