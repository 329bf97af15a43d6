"""Command line: ``python -m rlkit train ...`` and ``python -m rlkit tour``.

python -m rlkit train --algo PPO --env CartPole-v1 --stop-reward 475
python -m rlkit migrate old_rllib_script.py   # rewrite an RLlib script for rlkit
python -m rlkit tour            # a headless tour: the data flow, then training, with plots
python -m rlkit grading build --format nbgrader course/   # graded releases (docs/TEACHING.md)

A user error (bad --config JSON, an unknown env, algorithm or config key, an --out that is a
file or holds a previous run, a budget that is not positive) prints one line and exits with
status 2; no run directory is written and no earlier run is ever overwritten. Ctrl-C saves what
was trained so far (nothing when no iteration finished) and exits with status 130.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time

ALGORITHM_NAMES = ("PG", "A2C", "PPO", "DQN", "BC")  # rlkit.algorithms.ALGORITHMS' keys
RUN_FILES = ("checkpoint", "curve.png", "result.json", "progress.csv", "params.json")


class UserError(Exception):
    """A mistake in the command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def progress_bar(done: float, total: float, width: int = 30) -> str:
    """``[#########.....]`` for done/total (clamped)."""
    frac = 0.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    filled = int(round(frac * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def progress(steps: int, iters: int, args: argparse.Namespace) -> str:
    """The bar of the budget nearest its end, i.e. the stop condition that will end the run.

    A reward target cannot be foreseen; the budgets bound it.
    """
    budgets = [(steps, args.stop_timesteps, "steps")]
    if args.stop_iters is not None:
        budgets.append((iters, args.stop_iters, "iters"))
    done, total, unit = max(budgets, key=lambda b: b[0] / b[1])
    return f"{progress_bar(done, total)} {done:>9,}/{total:,} {unit}"


def positive_int(text: str) -> int:
    """Parse an int >= 1 (an argparse type), or an error saying what was given."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer (a budget > 0)")
    return value


def finite_float(text: str) -> float:
    """Parse a finite float (an argparse type), or an error saying what was given."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def parse_config(text: str | None, seed: int | None) -> dict:
    """The --config JSON as a dict, with --seed in it; UserError for bad JSON."""
    try:
        config = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        raise UserError(
            f"--config is not valid JSON ({err}); e.g. --config '{{\"lr\": 1e-3}}'"
        ) from None
    if not isinstance(config, dict):
        raise UserError(f"--config must be a JSON object such as '{{\"lr\": 1e-3}}'; got {text}")
    if seed is not None:
        config["seed"] = seed
    return config


def run_directory(out: str | None, algo: str, env: str) -> str:
    """The run's directory: --out (new or empty), or a fresh one under runs/."""
    if out is None:
        base = os.path.join("runs", f"{algo}-{env.replace('/', '_')}-{int(time.time())}")
        out, n = base, 1
        while os.path.exists(out):
            out, n = f"{base}-{n}", n + 1
        return out
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"--out '{out}' is a file; give a directory for the checkpoint and curve")
    previous = [f for f in RUN_FILES if os.path.exists(os.path.join(out, f))]
    if previous:
        raise UserError(
            f"--out '{out}' holds a previous run ({', '.join(previous)}); choose a new directory "
            f"(or remove that one): a run never overwrites another"
        )
    return out


def add_logger_config(config: dict, out: str, loggers: str) -> None:
    """Put the run's logs in ``out`` (rlkit.records.logger), unless --loggers none.

    "auto" is json, csv and tensorboard, without tensorboard (one note) when the package is
    missing. A logger_config in --config keeps its own keys.
    """
    from rlkit.records.logger import FORMATS, INSTALL_LOGS, tensorboard_available

    if loggers == "none":
        return
    if loggers == "auto":
        names = list(FORMATS)
        if not tensorboard_available():
            names.remove("tensorboard")
            print(f"note: no TensorBoard files for this run: {INSTALL_LOGS}", file=sys.stderr)
    else:
        names = [n.strip() for n in loggers.split(",") if n.strip()]
    options = config.setdefault("logger_config", {})
    if not isinstance(options, dict):
        return  # the trainer names the bad value
    options.setdefault("logdir", out)
    options.setdefault("loggers", names)


def build_trainer(args: argparse.Namespace):
    """The trainer and its new output directory; UserError for an unknown algo, env or key."""
    from rlkit.algorithms import ALGORITHMS

    if args.algo not in ALGORITHMS:
        raise UserError(f"unknown algorithm '{args.algo}'; choose one of {', '.join(ALGORITHMS)}")
    config = parse_config(args.config, args.seed)
    out = run_directory(args.out, args.algo, args.env)
    add_logger_config(config, out, args.loggers)
    existed = os.path.isdir(out)
    try:  # before training: a directory that cannot be written fails now, not after hours
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create --out '{out}' ({err.strerror})") from None
    try:
        trainer = ALGORITHMS[args.algo](env=args.env, config=config)
    except (ValueError, TypeError, KeyError, OSError, ImportError) as err:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)  # nothing of a run that never started
        text = str(err).strip()
        raise UserError(text.splitlines()[0] if text else repr(err)) from None
    return trainer, out


def train_loop(trainer, args: argparse.Namespace) -> tuple[list, bool, str | None]:
    """Train until a stop condition; returns (results, solved, why it stopped early)."""
    history: list = []
    try:
        while True:
            result = trainer.train()
            history.append(result)
            reward, steps = result["episode_reward_mean"], result["timesteps_total"]
            iters = result["training_iteration"]
            print(
                f"\r{progress(steps, iters, args)}  reward {reward:8.1f}  "
                f"{result['time_total_s']:6.1f}s",
                end="",
                flush=True,
            )
            target = args.stop_reward
            if target is not None and not math.isnan(reward) and reward >= target:
                return history, True, None
            if steps >= args.stop_timesteps or (args.stop_iters and iters >= args.stop_iters):
                return history, False, None
    except KeyboardInterrupt:
        return history, False, "interrupted"
    except (ValueError, TypeError, FloatingPointError) as err:  # bad data from the env
        return history, False, f"stopped: {err}"


def train_main(args: argparse.Namespace) -> int:
    """``train``: run until a stop condition, save the checkpoint and curve; the exit code."""
    trainer, out = build_trainer(args)
    history, solved, stopped = train_loop(trainer, args)
    print()
    if stopped:
        print(stopped, file=sys.stderr)
    if not history:
        trainer.stop()
        print("no iteration finished: nothing to save", file=sys.stderr)
        return 130 if stopped == "interrupted" else 1
    from rlkit.widgets.plots import plot_learning_curves

    path = trainer.save(os.path.join(out, "checkpoint"))
    curve = os.path.join(out, "curve.png")
    label = f"{args.algo} on {args.env}"
    plot_learning_curves({f"{args.algo} {args.env}": history}, path=curve, title=label)
    trainer.stop()
    status = "reached" if solved else "did not reach"
    target = f" {status} {args.stop_reward}" if args.stop_reward is not None else ""
    steps = history[-1]["timesteps_total"]
    print(f"{label}{target} after {steps:,} steps; checkpoint {path}; curve {curve}")
    if stopped:
        return 130 if stopped == "interrupted" else 1
    return 0 if solved or args.stop_reward is None else 1


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``train`` (and ``migrate``, ``tour``), every flag with its default."""
    parser = _Parser(
        prog="python -m rlkit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser(
        "train",
        help="train an algorithm on an env until a stop condition",
        description="Train until the first of: --stop-reward reached, --stop-timesteps env "
        "steps, --stop-iters iterations. Writes OUT/checkpoint/, OUT/curve.png and the run's "
        "logs: OUT/result.json, OUT/progress.csv, OUT/params.json and TensorBoard events.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument(
        "--algo", default="PPO", help=f"algorithm: one of {', '.join(ALGORITHM_NAMES)}"
    )
    train.add_argument("--env", default="CartPole-v1", help="gymnasium id or registered name")
    train.add_argument(
        "--stop-reward", type=finite_float, default=None, help="stop at this mean return"
    )
    train.add_argument(
        "--stop-timesteps", type=positive_int, default=1_000_000, help="env steps budget (> 0)"
    )
    train.add_argument(
        "--stop-iters", type=positive_int, default=None, help="iterations budget (> 0)"
    )
    train.add_argument("--seed", type=int, default=None, help="seed of torch, numpy and envs")
    train.add_argument("--config", default=None, help="JSON config, e.g. '{\"lr\": 1e-3}'")
    train.add_argument(
        "--out",
        default=None,
        help="new (or empty) directory for the checkpoint, curve and logs; None: a new "
        "runs/<algo>-<env>-<time>",
    )
    train.add_argument(
        "--loggers",
        default="auto",
        help="run logs written to OUT: comma-separated from json,csv,tensorboard; 'auto': all "
        "three (tensorboard when installed); 'none': no logs",
    )
    tour = sub.add_parser(
        "tour",
        help="a headless tour of the data flow and of training",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    tour.add_argument("--out", default="runs/tour", help="directory for the tour's figures")
    tour.add_argument("--fast", action="store_true", help="small budgets (for tests)")
    from rlkit.migrate import add_parser as add_migrate_parser

    add_migrate_parser(sub)
    from rlkit.grading.cli import add_parser as add_grading_parser

    add_grading_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m rlkit``: user errors are one line and exit 2."""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        try:
            return train_main(args)
        except UserError as err:
            print(f"python -m rlkit train: error: {err}", file=sys.stderr)
            return 2
    if args.command == "migrate":
        from rlkit.migrate import run as run_migrate

        return run_migrate(args)
    if args.command == "grading":
        from rlkit.grading.cli import run as run_grading

        return run_grading(args)
    from rlkit.tour import run_tour

    return run_tour(args.out, fast=args.fast)


if __name__ == "__main__":
    sys.exit(main())
