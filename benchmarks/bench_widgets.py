"""Benchmark the notebook widgets: how fast a change shows, how live the curves are, and
what live training costs.

    .venv/bin/python benchmarks/bench_widgets.py            # about two minutes on 2 cores

(From a worktree, put it first: PYTHONPATH=. ...; a script's own folder comes first on
sys.path, so otherwise the installed rlkit is measured.)

1. Component change -> new picture. Setting a Playground picker editor's value runs the same
   handlers a change in the page runs, synchronously: rebuild the policy, explain it, trace
   the current observation, build the data-flow HTML/SVG picture, update the replay and the
   next run's label. Target: under 0.3 s for CartPole-sized models (MODEL_DEFAULTS' [256, 256]
   network and smaller).
2. Curve redraw interval while training: the wall time between two redraws of the
   dashboard's curves (and what one redraw costs). Target: at least every 2 s.
3. Training throughput in the dashboard (background thread, live status, throttled curve
   redraws) relative to calling ``trainer.train()`` in a plain loop, in env steps per second.
   Target: at least 0.9. Plain and dashboard runs alternate, each with a fresh trainer of the
   same seed, so a neighbour's load on the machine hits both alike; the ratio is reported for
   the best run of each (the least disturbed) and for the medians, in wall time, and in
   process CPU time (which a neighbour's load barely changes; everything runs in this process).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rlkit.algorithms import PPO
from rlkit.widgets import Playground, TrainingDashboard

# (editor, value) pairs a learner might try, cycled through in order.
CHANGES = [
    ("fcnet_hiddens", "64, 64"),
    ("fcnet_activation", "relu"),
    ("fcnet_hiddens", "256, 256"),
    ("use_lstm", True),
    ("use_lstm", False),
    ("filter", "MeanStdFilter"),
    ("fcnet_activation", "tanh"),
    ("filter", "NoFilter"),
]
TRAIN_CONFIG = {"model": {"fcnet_hiddens": [64, 64]}, "seed": 0}


def bench_change_to_view(n_changes: int) -> list[float]:
    """Seconds from setting an editor's value to the new data-flow picture, per change."""
    pg = Playground("CartPole-v1", "PPO")
    picker = pg.picker
    times = []
    for i in range(n_changes):
        editor, value = CHANGES[i % len(CHANGES)]
        before = pg.view.picture.value
        start = time.perf_counter()
        getattr(picker, editor).value = value
        times.append(time.perf_counter() - start)
        assert picker.error == "", picker.error
        assert pg.view.picture.value != before  # a new picture, not the old one
    return times


def bench_redraw_interval(seconds: float) -> tuple[list[float], list[float]]:
    """Train in the dashboard for about ``seconds``; (gaps between redraws, redraw costs)."""
    trainer = PPO(env="CartPole-v1", config=TRAIN_CONFIG)
    dash = TrainingDashboard(trainer, label="bench", iterations=100_000)
    stamps, costs = [], []
    draw = dash.plot.redraw

    def timed() -> None:
        start = time.perf_counter()
        draw()
        stamps.append(time.perf_counter())
        costs.append(stamps[-1] - start)

    dash.plot.redraw = timed
    dash.train_button.click()
    time.sleep(seconds)
    dash.stop_button.click()
    dash.wait()
    trainer.stop()
    gaps = [b - a for a, b in zip(stamps, stamps[1:-1])]  # the last redraw is the forced one
    return gaps, costs


def plain_run(iterations: int) -> tuple[float, float]:
    """Env steps per second of ``train()`` in a loop: (per wall second, per CPU second)."""
    trainer = PPO(env="CartPole-v1", config=TRAIN_CONFIG)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(iterations):
        trainer.train()
    steps = trainer.timesteps_total
    rates = steps / (time.perf_counter() - start), steps / (time.process_time() - cpu)
    trainer.stop()
    return rates


def dashboard_run(iterations: int) -> tuple[tuple[float, float], int]:
    """Env steps per second through the dashboard's Train button (per wall second, per CPU
    second), and the number of curve redraws."""
    trainer = PPO(env="CartPole-v1", config=TRAIN_CONFIG)
    dash = TrainingDashboard(trainer, label="bench", iterations=iterations)
    redraws = 0
    draw = dash.redraw

    def counted() -> None:
        nonlocal redraws
        redraws += 1
        draw()

    dash.redraw = counted
    start, cpu = time.perf_counter(), time.process_time()
    dash.train_button.click()
    dash.wait()
    steps = trainer.timesteps_total
    rates = steps / (time.perf_counter() - start), steps / (time.process_time() - cpu)
    trainer.stop()
    return rates, redraws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--iterations", type=int, default=20, help="train() calls per run")
    parser.add_argument("--repeats", type=int, default=5, help="plain/dashboard pairs")
    parser.add_argument("--redraw-seconds", type=float, default=20.0, help="training time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")

    times = bench_change_to_view(args.changes)[2:]  # the first changes warm caches up
    times.sort()
    p90 = times[int(0.9 * (len(times) - 1))]
    print(
        f"component change -> new picture ({len(times)} changes, CartPole, up to [256, 256] "
        f"+ LSTM): median {statistics.median(times):.3f} s, p90 {p90:.3f} s, "
        f"max {times[-1]:.3f} s (target < 0.3 s)"
    )

    gaps, costs = bench_redraw_interval(args.redraw_seconds)
    print(
        f"curve redraws while training ({args.redraw_seconds:.0f} s, PPO CartPole [64, 64]): "
        f"{len(costs)} redraws, interval median {statistics.median(gaps):.2f} s, "
        f"max {max(gaps):.2f} s (target <= 2 s); one redraw median "
        f"{statistics.median(costs):.3f} s, max {max(costs):.3f} s"
    )

    plain_rates, dash_rates, redraws = [], [], []
    for _ in range(args.repeats):
        plain_rates.append(plain_run(args.iterations))
        rates, n = dashboard_run(args.iterations)
        dash_rates.append(rates)
        redraws.append(n)
    print(
        f"training throughput (PPO CartPole [64, 64], {args.iterations} iterations, "
        f"{args.repeats} runs each, {statistics.median(redraws):.0f} curve redraws per run):"
    )
    for i, clock in enumerate(("wall", "CPU")):
        plain = [r[i] for r in plain_rates]
        dash = [r[i] for r in dash_rates]
        print(
            f"  {clock:>4} time: plain train() best {max(plain):,.0f} steps/s, dashboard best "
            f"{max(dash):,.0f} steps/s; ratio {max(dash) / max(plain):.3f} best, "
            f"{statistics.median(dash) / statistics.median(plain):.3f} median (target >= 0.9)"
        )


if __name__ == "__main__":
    main()
