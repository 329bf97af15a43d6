"""The command line (issue 14, section 7): runs never overwrite each other, user errors are
one line and a non-zero exit, Ctrl-C never crashes, --help documents every flag."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rlkit.__main__ import ALGORITHM_NAMES, build_parser, main, progress
from rlkit.algorithms import ALGORITHMS
from rlkit.algorithms.base import Algorithm

TINY = json.dumps({"num_envs": 1, "rollout_fragment_length": 8})


def train(tmp_path, *flags: str, algo: str = "PG") -> list[str]:
    return ["train", "--algo", algo, "--config", TINY, "--out", str(tmp_path / "run"), *flags]


def test_a_run_writes_its_files_and_a_second_run_never_overwrites_them(tmp_path, capsys):
    assert main(train(tmp_path, "--stop-iters", "1")) == 0
    ckpt = tmp_path / "run" / "checkpoint" / "checkpoint.pt"
    first = ckpt.read_bytes()
    assert (tmp_path / "run" / "curve.png").exists()
    capsys.readouterr()
    assert main(train(tmp_path, "--stop-iters", "2")) == 2
    err = capsys.readouterr().err
    assert "holds a previous run" in err and len(err.strip().splitlines()) == 1
    assert ckpt.read_bytes() == first


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--config", "{lr: 1}"], "--config is not valid JSON"),
        (["--config", "[1]"], "--config must be a JSON object"),
        (["--config", '{"lr_typo": 1}'], "lr_typo"),
        (["--env", "CartPol-v1"], "unknown environment 'CartPol-v1'"),
        (["--algo", "PPPO"], "unknown algorithm 'PPPO'"),
        (["--stop-iters", "0"], "0 is not a positive integer"),
        (["--stop-iters", "-3"], "-3 is not a positive integer"),
        (["--stop-timesteps", "0"], "0 is not a positive integer"),
        (["--stop-timesteps", "-100"], "-100 is not a positive integer"),
        (["--stop-timesteps", "1e3"], "'1e3' is not an integer"),
        (["--stop-reward", "nan"], "'nan' is not a finite number"),
    ],
)
def test_user_errors_are_one_line_and_a_non_zero_exit(flags, message, tmp_path, capsys):
    argv = ["train", "--algo", "PG", "--out", str(tmp_path / "run"), *flags]
    if "--config" not in flags:
        argv += ["--config", TINY]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def exit_code(argv: list[str]) -> int:
    """main()'s return value, or the status argparse exits with."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


def test_an_out_that_is_a_file_is_a_user_error(tmp_path, capsys):
    (tmp_path / "run").write_text("notes")
    assert main(train(tmp_path, "--stop-iters", "1")) == 2
    assert "is a file" in capsys.readouterr().err


def test_an_out_that_cannot_be_created_fails_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("notes")
    argv = ["train", "--algo", "PG", "--config", TINY, "--out", str(tmp_path / "file" / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot create --out" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("after", [0, 1])
def test_ctrl_c_never_crashes(after, tmp_path, monkeypatch, capsys):
    real = Algorithm.train
    calls = []

    def train_then_interrupt(self):
        calls.append(1)
        if len(calls) > after:
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(Algorithm, "train", train_then_interrupt)
    assert main(train(tmp_path, "--stop-iters", "5")) == 130
    err = capsys.readouterr().err
    saved = (tmp_path / "run" / "checkpoint" / "checkpoint.pt").exists()
    assert saved == (after == 1)
    assert ("nothing to save" in err) == (after == 0)


def test_train_help_lists_algorithms_and_every_flag_with_its_default():
    assert set(ALGORITHM_NAMES) == set(ALGORITHMS)
    text = subprocess.run(
        [sys.executable, "-m", "rlkit", "train", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    ).stdout
    assert all(name in text for name in ALGORITHM_NAMES)
    train_parser = build_parser()._subparsers._group_actions[0].choices["train"]
    for action in train_parser._actions:
        if action.dest != "help":
            assert action.option_strings[0] in text
            assert f"(default: {action.default})" in text.replace("\n", " ").replace(
                "  ", " "
            ) or f"default: {action.default}" in " ".join(text.split())


@pytest.mark.parametrize(
    "steps, iters, stop_timesteps, stop_iters, expected",
    [
        (500, 1, 1000, 10, "500/1,000 steps"),  # the steps budget ends the run first
        (100, 5, 1_000_000, 10, "5/10 iters"),  # the iterations budget does
        (100, 5, 1_000_000, None, "100/1,000,000 steps"),
    ],
)
def test_the_progress_bar_measures_the_budget_that_ends_the_run(
    steps, iters, stop_timesteps, stop_iters, expected
):
    args = build_parser().parse_args(["train"])
    args.stop_timesteps, args.stop_iters = stop_timesteps, stop_iters
    assert progress(steps, iters, args).endswith(expected)
    assert progress(steps, iters, args).startswith("[")
