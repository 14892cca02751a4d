from __future__ import annotations

from django.conf import settings
from django.db import models


class EmailChange(models.Model):
    """A requested email change (SPEC §3): waiting for the user's approval when someone
    else proposed it (no challenge yet), then for the code sent to the new address. Until
    it is confirmed, codes, alerts and reset links keep going to the current address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pending_email_change"
    )
    new_email = models.EmailField(max_length=254)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    challenge = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"user {self.user_id} -> {self.new_email}"

    @property
    def awaiting_approval(self) -> bool:
        """Proposed by someone else (an admin) and not yet approved by the user: no code
        exists, and the proposed address has received nothing."""
        return not self.challenge
