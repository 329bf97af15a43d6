"""Past runs from their folders (rlkit.records.runs) and the dashboard's comparison of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rlkit.algorithms import PG
from rlkit.records.runs import load_results, unflatten

TINY = {"num_envs": 2, "rollout_fragment_length": 16, "seed": 0, "model": {"fcnet_hiddens": [8]}}


def logged_run(folder, loggers, iterations=3, **config) -> list[dict]:
    options = {"logdir": str(folder), "loggers": loggers}
    trainer = PG(env="CartPole-v1", config={**TINY, **config, "logger_config": options})
    results = [trainer.train() for _ in range(iterations)]
    trainer.stop()
    return json.loads(json.dumps(results))  # as JSON keeps them (tuples become lists)


def test_result_json_reads_back_as_train_returned_it(tmp_path):
    results = logged_run(tmp_path / "run", ["json"])
    assert load_results(tmp_path / "run") == results


def test_progress_csv_alone_reads_back_nested(tmp_path):
    results = logged_run(tmp_path / "run", ["csv"])
    loaded = load_results(tmp_path / "run")
    assert len(loaded) == 3
    for got, want in zip(loaded, results):
        assert got["timesteps_total"] == want["timesteps_total"]  # an int stays an int
        assert got["engine"] == want["engine"]
        stats = want["info"]["learner"]["default_policy"]["learner_stats"]
        for key, value in stats.items():
            got_value = got["info"]["learner"]["default_policy"]["learner_stats"][key]
            assert np.isclose(got_value, value, equal_nan=True), key


def test_a_run_stopped_while_writing_keeps_its_earlier_lines(tmp_path):
    results = logged_run(tmp_path / "run", ["json"])
    path = tmp_path / "run" / "result.json"
    text = path.read_text()
    path.write_text(text + '{"training_iteration": 4, "episode_rew')  # a cut last line
    assert load_results(tmp_path / "run") == results
    lines = text.splitlines()
    path.write_text("\n".join([lines[0], "{broken", *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match="result.json line 2 is not JSON"):
        load_results(tmp_path / "run")


def test_a_folder_without_a_run_says_what_a_run_folder_holds(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds result.json or progress.csv"):
        load_results(tmp_path)


def test_unflatten_is_the_inverse_of_the_flat_keys():
    assert unflatten({"a": 1, "info/learner/x": 2, "info/y": 3}) == {
        "a": 1,
        "info": {"learner": {"x": 2}, "y": 3},
    }


def test_the_dashboard_compares_past_runs_from_their_folders(tmp_path):
    from rlkit.widgets.dashboard import TrainingDashboard

    slow = logged_run(tmp_path / "lr_1e-4", ["json"], lr=1e-4)
    fast = logged_run(tmp_path / "lr_1e-2", ["csv"], lr=1e-2)
    dashboard = TrainingDashboard()
    assert dashboard.load_run(tmp_path / "lr_1e-4") == "lr_1e-4"
    assert dashboard.load_run(tmp_path / "lr_1e-2", label="fast") == "fast"
    assert dashboard.load_run(tmp_path / "lr_1e-4") == "lr_1e-4 (2)"  # a second copy
    assert dashboard.runs["lr_1e-4"] == slow
    assert [r["timesteps_total"] for r in dashboard.runs["fast"]] == [
        r["timesteps_total"] for r in fast
    ]
    assert dashboard.curves.value[:4] == b"\x89PNG"  # the picture of both runs is drawn
    assert "episode_reward_mean" in dashboard.curve_keys()
    legend = [row.children[1].value for row in dashboard.plot.legend.children]
    assert any("fast" in text for text in legend) and any("lr_1e-4" in t for t in legend)
