"""bench/airesim_compare.py runs without AIReSim (trainsim's side and the closed forms) and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "airesim_compare.py"


def test_runs_without_airesim(tmp_path: Path) -> None:
    """No AIReSim on the path: the trainsim rows, the closed forms and a line saying AIReSim is absent."""
    env = {k: v for k, v in os.environ.items() if k != "AIRESIM_SRC"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--airesim", str(tmp_path), "--days", "2", "--trainsim-replications", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "AIReSim not importable" in out
    for line in ("closed form with cures, trainsim's model", "trainsim  ", "CPU time per replication", "trainsim ETTR"):
        assert line in out, line
    assert "speed-up" not in out

