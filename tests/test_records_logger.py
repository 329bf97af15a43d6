"""Run records (rlkit.records.logger): result.json, progress.csv, params.json and TensorBoard
events, read back with the field's own readers (pandas, TensorBoard's EventAccumulator) and
compared with what train() returned."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from rlkit.__main__ import main
from rlkit.algorithms import A2C, BC, DQN, PG, PPO
from rlkit.records import logger as logger_module
from rlkit.records.logger import ResultLogger, flatten_result

TINY = {"num_envs": 2, "rollout_fragment_length": 16, "seed": 0, "model": {"fcnet_hiddens": [8]}}


def event_scalars(folder: str) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of the folder's event files: [(step, value), ...], by TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(folder, size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def same(a, b) -> bool:
    """Equal as logged numbers: float32 in events, NaN equal to NaN."""
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-30)


def test_every_format_reads_back_as_train_returned_it(tmp_path):
    folder = tmp_path / "run"
    config = {**TINY, "lr": 1e-3, "logger_config": {"logdir": str(folder)}}
    trainer = PPO(env="CartPole-v1", config=config)
    results = [trainer.train() for _ in range(3)]
    trainer.stop()
    flat = [flatten_result(r) for r in results]
    assert "info/learner/default_policy/learner_stats/policy_loss" in flat[0]

    # result.json: one JSON line per iteration, nested as train() returned it (RLlib's).
    lines = (folder / "result.json").read_text().splitlines()
    assert [json.loads(line) for line in lines] == json.loads(json.dumps(results))

    # progress.csv with pandas: one row per iteration, a column per flat key.
    df = pd.read_csv(folder / "progress.csv")
    assert list(df.columns) == list(flat[0]) and len(df) == 3
    for key in flat[0]:
        for i in range(3):
            if isinstance(flat[i][key], str):
                assert df[key][i] == flat[i][key]
            else:
                assert same(df[key][i], flat[i][key]), (key, i)

    # TensorBoard: every number, step = timesteps_total, read by TensorBoard's own reader.
    scalars = event_scalars(str(folder))
    numbers = [k for k, v in flat[0].items() if isinstance(v, (int, float))]
    assert set(scalars) == set(numbers)
    for key in numbers:
        assert [s for s, _ in scalars[key]] == [r["timesteps_total"] for r in results]
        assert all(same(v, f[key]) for (_, v), f in zip(scalars[key], flat)), key

    params = json.loads((folder / "params.json").read_text())
    assert params["lr"] == 1e-3 and params["env"] == "CartPole-v1"
    assert params["logger_config"] == {"logdir": str(folder)}
    assert set(params) == set(trainer.config)


def _bc_data(tmp_path) -> str:
    source = PG(env="CartPole-v1", config={**TINY, "output": str(tmp_path / "data")})
    source.train()
    source.stop()
    return str(tmp_path / "data")


@pytest.mark.parametrize("algo", [PG, A2C, PPO, DQN, BC])
def test_every_trainer_logs_its_results(algo, tmp_path):
    config = {**TINY, "logger_config": {"logdir": str(tmp_path / "run"), "loggers": ["csv"]}}
    if algo is BC:
        config["input"] = _bc_data(tmp_path)
    trainer = algo(env="CartPole-v1", config=config)
    results = [trainer.train() for _ in range(2)]
    trainer.stop()
    df = pd.read_csv(tmp_path / "run" / "progress.csv")
    assert df["training_iteration"].tolist() == [1, 2]
    assert df["timesteps_total"].tolist() == [r["timesteps_total"] for r in results]
    assert sorted(os.listdir(tmp_path / "run")) == ["params.json", "progress.csv"]


def test_a_key_that_appears_later_gets_its_column_and_earlier_rows_stay(tmp_path):
    log = ResultLogger(str(tmp_path), loggers=["csv", "json"])
    log.on_result({"training_iteration": 1, "loss": 0.5})
    log.on_result({"training_iteration": 2, "loss": 0.25, "evaluation": {"return": 10.0}})
    log.on_result({"training_iteration": 3, "evaluation": {"return": 12.0}, "note": "x"})
    log.close()
    df = pd.read_csv(tmp_path / "progress.csv")
    assert list(df.columns) == ["training_iteration", "loss", "evaluation/return", "note"]
    assert df["training_iteration"].tolist() == [1, 2, 3]
    np.testing.assert_array_equal(df["loss"], [0.5, 0.25, np.nan])
    np.testing.assert_array_equal(df["evaluation/return"], [np.nan, 10.0, 12.0])
    assert [f for f in os.listdir(tmp_path) if ".tmp" in f] == []


def test_save_without_a_folder_writes_beside_the_logs(tmp_path):
    trainer = PG(env="CartPole-v1", config={**TINY, "logger_config": {"logdir": str(tmp_path)}})
    trainer.train()
    path = trainer.save()
    trainer.stop()
    assert trainer.logdir == str(tmp_path)
    assert os.path.dirname(os.path.dirname(path)) == str(tmp_path)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"logdr": "x"}, "unknown key 'logdr' in logger_config (did you mean 'logdir'?)"),
        ({"type": "JsonLogger"}, "rlkit chooses formats by name"),
        ({"loggers": ["tbx"]}, "unknown format 'tbx'"),
        ({"loggers": "csv"}, "takes a list from"),
        ({"logdir": 3}, "'logdir' takes a folder path"),
    ],
)
def test_bad_logger_config_is_refused_with_the_fix(options, message, tmp_path):
    with pytest.raises(ValueError) as err:
        PG(env="CartPole-v1", config={**TINY, "logger_config": options})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_an_unwritable_log_folder_is_one_line_and_leaves_nothing(tmp_path):
    (tmp_path / "notes").write_text("a file where the folder would go")
    with pytest.raises(OSError) as err:
        PG(
            env="CartPole-v1",
            config={**TINY, "logger_config": {"logdir": str(tmp_path / "notes" / "run")}},
        )
    text = str(err.value)
    assert "cannot write the run's logs to" in text and "Not a directory" in text
    assert "logger_config={'logdir': ...}" in text and "\n" not in text
    assert sorted(os.listdir(tmp_path)) == ["notes"]


def test_a_folder_holding_a_previous_run_is_refused(tmp_path):
    config = {**TINY, "logger_config": {"logdir": str(tmp_path), "loggers": ["json"]}}
    trainer = PG(env="CartPole-v1", config=config)
    trainer.train()
    trainer.stop()
    before = (tmp_path / "result.json").read_bytes()
    with pytest.raises(ValueError, match="holds a previous run"):
        PG(env="CartPole-v1", config=config)
    assert (tmp_path / "result.json").read_bytes() == before


def test_tensorboard_missing_is_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(logger_module, "tensorboard_available", lambda: False)
    with pytest.raises(ImportError) as err:
        PG(env="CartPole-v1", config={**TINY, "logger_config": {"logdir": str(tmp_path / "r")}})
    assert 'pip install "rlkit[logs]"' in str(err.value)
    assert "'loggers': ['json', 'csv']" in str(err.value)
    assert os.listdir(tmp_path / "r") == []  # nothing half-written
    config = {**TINY, "logger_config": {"logdir": str(tmp_path / "r"), "loggers": ["csv"]}}
    PG(env="CartPole-v1", config=config).stop()  # without tensorboard the other formats work


def test_cli_train_out_writes_the_run_logs_by_default(tmp_path):
    out = tmp_path / "run"
    tiny = json.dumps({"num_envs": 1, "rollout_fragment_length": 8})
    assert (
        main(["train", "--algo", "PG", "--config", tiny, "--out", str(out), "--stop-iters", "2"])
        == 0
    )
    names = os.listdir(out)
    assert {"result.json", "progress.csv", "params.json", "checkpoint", "curve.png"} <= set(names)
    assert any(n.startswith("events.out.tfevents") for n in names)
    assert pd.read_csv(out / "progress.csv")["training_iteration"].tolist() == [1, 2]
    quiet = tmp_path / "quiet"
    argv = ["train", "--algo", "PG", "--config", tiny, "--out", str(quiet), "--stop-iters", "1"]
    assert main([*argv, "--loggers", "none"]) == 0
    assert sorted(os.listdir(quiet)) == ["checkpoint", "curve.png"]


@pytest.mark.ray
def test_a_tune_trial_keeps_tunes_own_logs(tmp_path):
    from rlkit.scaling.sweeps import rlkit_trainable

    trainable = rlkit_trainable("PG")
    config = {"env": "CartPole-v1", "logger_config": {"logdir": str(tmp_path)}}
    with pytest.raises(ValueError, match="a Tune trial keeps Tune's own logs"):
        trainable.setup(object(), config)  # refused before any trainer is built
    assert list(tmp_path.iterdir()) == []


def test_cli_unknown_logger_format_is_one_line_and_leaves_no_folder(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--algo", "PG", "--out", str(out), "--loggers", "json,tbx"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "unknown format 'tbx'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
