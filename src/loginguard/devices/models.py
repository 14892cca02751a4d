from __future__ import annotations

from django.conf import settings
from django.db import models

from loginguard.devices.fingerprint import Fingerprint


class TrustedDevice(models.Model):
    """A place a user chose to trust: a device secret (held by the browser in a cookie,
    stored here only as SHA-256) plus the IP, browser and OS it was trusted from."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_devices"
    )
    name = models.CharField(max_length=64)
    secret_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField()
    browser = models.CharField(max_length=64)
    os = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    # The last successful emailed code on this device: the 30-day rule counts from here.
    last_code_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_used_at"]
        indexes = [models.Index(fields=["user", "secret_hash"], name="device_user_secret")]

    def __str__(self) -> str:
        return f"{self.name} ({self.browser} on {self.os}, {self.ip})"

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint(ip=self.ip, browser=self.browser, os=self.os)
