"""scripts/class_server.py (slow tier): two kernels train at once; the figures come back whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_class_server_runs_two_kernels_and_reports_time_cpu_and_memory(tmp_path):
    out = tmp_path / "class.json"
    done = subprocess.run(
        [sys.executable, "scripts/class_server.py", "--students", "2", "--iterations", "1",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    [row] = json.loads(out.read_text())
    assert row["students"] == 2 and len(row["returns"]) == 2
    assert 0 < row["cell_s"]["min"] <= row["cell_s"]["max"] < 600
    assert row["cpu_s_median"] > 0 and 100 < row["kernel_peak_mb"] < 4000
    assert row["all_kernels_peak_mb"] >= 2 * 100
    assert "| 2 |" in done.stdout
