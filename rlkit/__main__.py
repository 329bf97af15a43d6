"""Command line: ``python -m rlkit train ...`` and ``python -m rlkit tour``.

python -m rlkit train --algo PPO --env CartPole-v1 --stop-reward 475
python -m rlkit tour            # a headless tour: the data flow, then training, with plots
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time


def progress_bar(done: float, total: float, width: int = 30) -> str:
    """``[#########.....]`` for done/total (clamped)."""
    frac = 0.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    filled = int(round(frac * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def train_main(args: argparse.Namespace) -> int:
    from rlkit.algorithms import ALGORITHMS
    from rlkit.widgets.plots import plot_learning_curves

    if args.algo not in ALGORITHMS:
        print(
            f"unknown algorithm '{args.algo}'; choose one of {', '.join(ALGORITHMS)}",
            file=sys.stderr,
        )
        return 2
    config = json.loads(args.config) if args.config else {}
    if args.seed is not None:
        config["seed"] = args.seed
    trainer = ALGORITHMS[args.algo](env=args.env, config=config)
    out = args.out or os.path.join(
        "runs", f"{args.algo}-{args.env.replace('/', '_')}-{int(time.time())}"
    )
    os.makedirs(out, exist_ok=True)
    history = []
    solved = False
    try:
        while True:
            result = trainer.train()
            history.append(result)
            reward = result["episode_reward_mean"]
            steps = result["timesteps_total"]
            line = (
                f"\r{progress_bar(steps, args.stop_timesteps)} {steps:>9,} steps  "
                f"reward {reward:8.1f}  {result['time_total_s']:6.1f}s"
            )
            print(line, end="", flush=True)
            if (
                args.stop_reward is not None
                and not math.isnan(reward)
                and reward >= args.stop_reward
            ):
                solved = True
                break
            if steps >= args.stop_timesteps or result["training_iteration"] >= args.stop_iters:
                break
    except KeyboardInterrupt:
        print("\ninterrupted: saving what was trained so far")
    print()
    path = trainer.save(os.path.join(out, "checkpoint"))
    plot_learning_curves(
        {f"{args.algo} {args.env}": history},
        path=os.path.join(out, "curve.png"),
        title=f"{args.algo} on {args.env}",
    )
    trainer.stop()
    status = "reached" if solved else "did not reach"
    target = f" {status} {args.stop_reward}" if args.stop_reward is not None else ""
    print(
        f"{args.algo} on {args.env}{target} after {history[-1]['timesteps_total']:,} steps; "
        f"checkpoint {path}; curve {os.path.join(out, 'curve.png')}"
    )
    return 0 if solved or args.stop_reward is None else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rlkit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train an algorithm on an env until a stop condition")
    train.add_argument("--algo", default="PPO")
    train.add_argument("--env", default="CartPole-v1")
    train.add_argument("--stop-reward", type=float, default=None)
    train.add_argument("--stop-timesteps", type=int, default=1_000_000)
    train.add_argument("--stop-iters", type=int, default=10**9)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--config", default=None, help="JSON config, e.g. '{\"lr\": 1e-3}'")
    train.add_argument("--out", default=None, help="directory for the checkpoint and curve")
    tour = sub.add_parser("tour", help="a headless tour of the data flow and of training")
    tour.add_argument("--out", default="runs/tour")
    tour.add_argument("--fast", action="store_true", help="small budgets (for tests)")
    args = parser.parse_args(argv)
    if args.command == "train":
        return train_main(args)
    from rlkit.tour import run_tour

    return run_tour(args.out, fast=args.fast)


if __name__ == "__main__":
    sys.exit(main())
