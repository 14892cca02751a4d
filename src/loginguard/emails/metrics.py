"""The email queue's length and age, read from the database when /metrics is scraped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, Min
from prometheus_client.core import GaugeMetricFamily

from loginguard.emails.models import EmailStatus, OutgoingEmail
from loginguard.lib import clock


class QueueCollector:
    """loginguard_email_queue_length and loginguard_email_queue_oldest_seconds, from the
    database at scrape time (one query)."""

    def collect(self) -> Iterator[Any]:
        try:
            found = OutgoingEmail.objects.filter(
                status__in=[EmailStatus.QUEUED, EmailStatus.SENDING]).aggregate(
                n=Count("id"), oldest=Min("created_at"))
        except DatabaseError:
            return
        oldest = found["oldest"]
        age = (clock.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("loginguard_email_queue_length",
                                "Emails waiting to be sent.", value=found["n"])
        yield GaugeMetricFamily("loginguard_email_queue_oldest_seconds",
                                "Age of the oldest email waiting to be sent (0: none).",
                                value=max(age, 0.0))
