"""A headless TrainingDashboard's memory stays flat over 1,000 iterations (slow tier).

The run happens in a fresh process (this test's own heap would blur the figures): a PG trainer
on CartPole (1 env, 16 steps per iteration) behind a TrainingDashboard that redraws its curves
every 0.2 s, as a notebook would show it, with no browser attached. Every 100 iterations the
process is measured after ``gc.collect()`` and glibc's ``malloc_trim(0)``.

Why the trim: without it the resident set size moves in steps of ~15-35 MB, up and down
(measured here: 431, 462, 462, 462, 462, 462, 432, 432, 432, 459 MB at iterations 100..1,000),
while the Python heap grows by ~21 blocks per iteration (``sys.getallocatedblocks``: the
result dicts the dashboard keeps for its curves, ~1.3 KB each) and ``malloc_trim(0)`` at the
end gives 36 MB back to the OS (459 -> 423 MB). The steps are memory glibc's allocator keeps
in its arenas after the redraws (matplotlib's Agg buffers, made in the training thread) freed
it, not objects rlkit holds; trimmed, what is left is what is live.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

RUN = """
import ctypes, gc, json, sys
import psutil
from rlkit.algorithms import PG
from rlkit.widgets import TrainingDashboard

try:
    trim = ctypes.CDLL("libc.so.6").malloc_trim
except OSError:  # not glibc: nothing to trim
    trim = lambda pad: 0
proc, readings = psutil.Process(), {}
trainer = PG(env="CartPole-v1", config={"num_envs": 1, "rollout_fragment_length": 16, "seed": 0})
dash = TrainingDashboard(trainer, label="mem", iterations=1000, redraw_interval_s=0.2)
original = trainer.train

def train_and_measure():
    result = original()
    if result["training_iteration"] % 100 == 0:
        gc.collect()
        untrimmed = proc.memory_info().rss
        trim(0)
        readings[result["training_iteration"]] = (
            proc.memory_info().rss, untrimmed, sys.getallocatedblocks()
        )
    return result

trainer.train = train_and_measure
dash.train(1000)
dash.wait()
report = {"state": dash.state, "error": dash.error, "iterations": len(dash.runs["mem"])}
print(json.dumps({**report, "readings": readings}))
"""


def test_dashboard_memory_is_flat_over_1000_iterations():
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["state"] == "finished" and report["iterations"] == 1000, report
    readings = {int(k): v for k, v in report["readings"].items()}
    assert sorted(readings) == list(range(100, 1001, 100))
    rss = {i: r[0] / 2**20 for i, r in readings.items()}  # MB after the trim
    growth = rss[1000] - rss[200]
    assert growth < 20.0, f"RSS grew {growth:.1f} MB from iteration 200 to 1,000: {readings}"
    blocks_per_iteration = (readings[1000][2] - readings[200][2]) / 800
    assert blocks_per_iteration < 100, readings  # the kept results only (~21 blocks each)
