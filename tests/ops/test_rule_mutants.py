"""scripts/rule_mutants.py names each security rule by a piece of code; when that code
moves, the entry must move with it, or the rule silently stops being checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "rule_mutants.py"


def test_every_rule_of_the_mutation_check_is_still_found() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
