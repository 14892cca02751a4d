from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


@contextmanager
def validation_errors_as_command_errors() -> Iterator[None]:
    """Bad CLI input ends in one readable line and a non-zero exit, never a traceback."""
    try:
        yield
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from None


def lookup(model: type, name: str, what: str) -> object:
    try:
        return model._default_manager.get(name__iexact=name.strip())  # type: ignore[attr-defined]
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise CommandError(f"No {what} named {name!r}.") from None
