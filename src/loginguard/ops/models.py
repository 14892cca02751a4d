from django.db import models


class PeriodicJob(models.Model):
    """When a periodic job of the workers (housekeeping) is next due. A worker runs the
    job only after moving ``next_run_at`` forward with a conditional UPDATE, so with any
    number of workers each run happens once."""

    name = models.CharField(max_length=40, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_by = models.CharField(max_length=64, blank=True)
    last_result = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name} (next {self.next_run_at:%Y-%m-%d %H:%M})"


class WorkerBeat(models.Model):
    """A running worker's sign of life, written every few seconds by each worker process.
    An email claimed by a worker whose beat stopped (killed, machine gone) is queued again
    by the others (ops/beats.py)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.host} (pid {self.pid})"
