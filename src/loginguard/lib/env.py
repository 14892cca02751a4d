"""Strict parsers for settings that come from the environment.

Every parser raises ``ImproperlyConfigured`` naming the variable, so a typo in a
deployment stops start-up with a message instead of running with a surprising default.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


_HOST = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
                   r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a boolean: use one of true/false, 1/0, yes/no, on/off."
        )

    def number(self, name: str, default: int, *, min_value: int = 0,
               max_value: int = 65535) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value, 10)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
        if not min_value <= number <= max_value:
            raise ImproperlyConfigured(
                f"{name}={value!r} is out of range ({min_value} to {max_value})."
            )
        return number

    def csv(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return default
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, default: str, choices: tuple[str, ...], *,
               upper: bool = False) -> str:
        value = self.raw(name)
        if value is None:
            return default
        value = value.upper() if upper else value.lower()
        if value not in choices:
            raise ImproperlyConfigured(f"{name}={value!r}: use one of {', '.join(choices)}.")
        return value

    def hosts(self, name: str) -> list[str]:
        """Host names (``app.example.com``) or parent domains (``.example.com``), lower
        case, without scheme, port or path."""
        result = []
        for item in self.csv(name, []):
            host = item.lower()
            if not _HOST.fullmatch(host.removeprefix(".")):
                raise ImproperlyConfigured(
                    f"{name} has {item!r}, which is not a host name: list names like "
                    "app.example.com, or .example.com for a domain and its subdomains "
                    "(no scheme, port or path).")
            result.append(host)
        return result

    def cookie_domain(self, name: str) -> str | None:
        """A parent domain for a cookie (``example.com`` or ``.example.com``)."""
        value = self.raw(name)
        if value is None:
            return None
        host = value.lower().removeprefix(".")
        if not _HOST.fullmatch(host) or "." not in host:
            raise ImproperlyConfigured(
                f"{name}={value!r} is not a domain like example.com: the cookie is shared "
                "with that domain and its subdomains.")
        return host

    def rp_id(self, name: str, base_url: str) -> str | None:
        """A WebAuthn relying party id: ``base_url``'s host or a parent domain of it."""
        value = self.raw(name)
        if value is None:
            return None
        host = (urlsplit(base_url).hostname or "").lower()
        rp = value.lower()
        if not _HOST.fullmatch(rp) or not (host == rp or host.endswith(f".{rp}")):
            raise ImproperlyConfigured(
                f"{name}={value!r} is neither BASE_URL's host ({host}) nor a parent domain "
                "of it: browsers refuse passkeys for any other name. Unset it to use "
                "BASE_URL's host.")
        return rp

    def networks(self, name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        result = []
        for item in self.csv(name, []):
            try:
                result.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ImproperlyConfigured(
                    f"{name} has {item!r}, which is not an IP address or CIDR network "
                    "(example: 10.0.0.0/8,192.168.1.7)."
                ) from None
        return result

    def url(self, name: str, default: str, *, schemes: tuple[str, ...]) -> str:
        value = self.raw(name) or default
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise ImproperlyConfigured(
                f"{name}={value!r} is not a URL starting with {' or '.join(schemes)}://"
            )
        return value.rstrip("/")

    def database(self, name: str, default: str) -> dict[str, Any]:
        import dj_database_url

        value = self.raw(name) or default
        scheme = urlsplit(value).scheme
        if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
            raise ImproperlyConfigured(
                f"{name}={value!r}: use sqlite:///path/to/file.sqlite3 or "
                "postgres://user:password@host:5432/dbname."
            )
        try:
            config: dict[str, Any] = dict(dj_database_url.parse(value))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}={value!r} is malformed: {exc}") from None
        if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
            raise ImproperlyConfigured(f"{name}={value!r} names no database after the host.")
        if config["ENGINE"].endswith("sqlite3") and not config.get("NAME"):
            raise ImproperlyConfigured(f"{name}={value!r} names no SQLite file.")
        return config
