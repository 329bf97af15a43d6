"""A headless TrainingDashboard's memory stays flat over 1,000 iterations (slow tier).

The run happens in a fresh process (this test's own heap would blur the figures): a PG trainer
on CartPole (1 env, 16 steps per iteration) behind a TrainingDashboard that redraws its curves
every 0.2 s, as a notebook would show it, with no browser attached. The resident set size is
read after every iteration; after a warm-up of 200 iterations (imports finish loading,
matplotlib's caches and the allocator's arenas fill) it may grow by at most 20 MB until
iteration 1,000.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

RUN = """
import gc, json, psutil
from rlkit.algorithms import PG
from rlkit.widgets import TrainingDashboard

proc, rss = psutil.Process(), {}
trainer = PG(env="CartPole-v1", config={"num_envs": 1, "rollout_fragment_length": 16, "seed": 0})
dash = TrainingDashboard(trainer, label="mem", iterations=1000, redraw_interval_s=0.2)
original = trainer.train

def train_and_measure():
    result = original()
    if result["training_iteration"] % 100 == 0:
        gc.collect()
        rss[result["training_iteration"]] = proc.memory_info().rss
    return result

trainer.train = train_and_measure
dash.train(1000)
dash.wait()
report = {"state": dash.state, "error": dash.error, "iterations": len(dash.runs["mem"])}
print(json.dumps({**report, "rss": rss}))
"""


def test_dashboard_memory_is_flat_over_1000_iterations():
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["state"] == "finished" and report["iterations"] == 1000, report
    rss = {int(k): v / 2**20 for k, v in report["rss"].items()}  # iteration -> MB
    assert sorted(rss) == list(range(100, 1001, 100))
    growth = rss[1000] - rss[200]
    assert growth < 20.0, f"RSS grew {growth:.1f} MB from iteration 200 to 1,000: {rss}"
