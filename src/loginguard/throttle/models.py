from django.db import models


class Counter(models.Model):
    """One named counter shared by every web process (SPEC §2.6: nothing security-
    relevant lives in process memory). Updated only under a row lock."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}={self.count}"
