from __future__ import annotations

from django import template

from loginguard.devices.fingerprint import families

register = template.Library()


@register.filter
def device_label(user_agent: str) -> str:
    """"Chrome on Windows" from a stored User-Agent (the families trust is based on)."""
    if not user_agent:
        return "—"
    browser, os = families(user_agent)
    return f"{browser} on {os}"
