"""The fault suite's short version (issue 17): the whole installation of bench/faults.py —
its own PostgreSQL and Redis, two web processes, two workers, an SMTP sink — under a small
load while each part fails for a few seconds. The long version with the issue's durations
is `.venv/bin/python -m bench.faults` (docs/reliability.md)."""

from __future__ import annotations

import argparse
import os

import pytest
from bench import faults

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the suite brings its own PostgreSQL and Redis whatever DATABASE_URL says, so "
           "it runs once, in the default (SQLite) pass of make test")


def test_every_fault_holds_under_load() -> None:
    args = argparse.Namespace(faults="pg,redis,smtp,worker,web", outage=5.0,
                              smtp_outage=6.0, threads=4, users=900, warm=3.0, after=2.0,
                              drain=120.0)
    results = {r.name: r for r in faults.run_faults(args)}
    assert list(results) == ["pg", "redis", "smtp", "worker", "web"]
    for result in results.values():
        assert result.violations == [], result
        assert result.recovery_s is not None and result.recovery_s <= faults.RECOVERY_GOAL
        assert result.emails["queued"] > 0 and result.emails["lost"] == 0, result.emails
        assert result.emails["left in queue"] == 0 and not result.audit_missing
        assert not any(status.startswith("5") and status != "503"
                       for status in result.statuses), result.statuses
        assert result.signins.get("full completed", 0) > 0, result.signins
    # The outages were real: the pages answered 503 while PostgreSQL or Redis was away.
    assert results["pg"].statuses.get("503", 0) > 0
    assert results["redis"].statuses.get("503", 0) > 0
    # The throttle prober did post wrong passwords meanwhile, each refused with a 503.
    assert results["pg"].throttle_probes_refused > 0
    assert results["redis"].throttle_probes_refused > 0
    # Only the worker killed mid-send may have delivered one message twice.
    assert all(r.emails["duplicated"] == 0 for name, r in results.items() if name != "worker")
    assert results["worker"].emails["duplicated"] <= 1
    assert all(faults.held(r) for r in results.values())
