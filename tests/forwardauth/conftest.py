from __future__ import annotations

import ipaddress
from typing import Any

import pytest

PROXY_IP = "10.9.0.2"
APP = "http://app.example.test"


@pytest.fixture(autouse=True)
def _forward_auth_settings(settings: Any) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network(f"{PROXY_IP}/32")]
    settings.FORWARD_AUTH_HOSTS = ["app.example.test", ".tools.example.test"]
    settings.SECURE_COOKIES = False
    settings.BASE_URL = "http://auth.example.test"


@pytest.fixture
def django_settings(settings: Any) -> Any:
    return settings
