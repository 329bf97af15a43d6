"""Config keys: every algorithm's table checks every value at construction, names the key,
documents itself (docs/CONFIG.md), and RLlib's common keys keep RLlib's meaning."""

from __future__ import annotations

import math
import os
import re

import pytest

from rlkit.algorithms import ALGORITHMS, DQN, PG, PPO
from rlkit.algorithms.config.checking import build_config
from rlkit.algorithms.config.docs import markdown
from rlkit.algorithms.config.keys import COMMON_KEYS, algorithm_keys
from rlkit.algorithms.config.rllib_keys import RLLIB_ONLY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = {"model": {"fcnet_hiddens": [8]}, "num_envs": 2, "rollout_fragment_length": 8}


def build(algo: str, config: dict, env: str = "CartPole-v1"):
    return ALGORITHMS[algo](env=env, config=config)


def assert_named(err: pytest.ExceptionInfo, algo: str, key: str, value) -> None:
    text = str(err.value)
    assert f"{algo} config key '{key}'" in text, text
    assert f"got {value!r}" in text, text
    assert "takes" in text, text


# The issue's list: (key, bad value, the algorithms that have the key).
ISSUE_CASES = [
    ("grad_clip", -0.5, list(ALGORITHMS)),
    ("lr", math.inf, list(ALGORITHMS)),
    ("lr", float("nan"), list(ALGORITHMS)),
    ("lr_schedule", [[0, 1e-3], [1000, -1e-4]], list(ALGORITHMS)),
    ("lr_schedule", [[0, 1e-3], [1000]], list(ALGORITHMS)),
    ("lr_schedule", [[1000, 1e-3], [0, 1e-4]], list(ALGORITHMS)),
    ("lr_schedule", 0.001, list(ALGORITHMS)),
    ("lambda", 2.0, ["A2C", "PPO"]),
    ("clip_param", -1, ["PPO"]),
    ("vf_clip_param", -1, ["PPO"]),
    ("normalize_advantages", "no", ["PPO"]),
    ("normalize_returns", 0, ["PG"]),
    ("num_sgd_iter", 0, ["PPO", "BC"]),
    ("sgd_minibatch_size", -5, ["PPO", "BC"]),
    ("microbatch_size", -1, ["A2C"]),
    ("gamma", "0.9", ["PG", "A2C", "PPO", "DQN"]),
    ("seed", "abc", list(ALGORITHMS)),
    ("seed", -1, list(ALGORITHMS)),
    ("num_envs", True, list(ALGORITHMS)),
    ("num_envs", 2.0, list(ALGORITHMS)),
    ("model", [1], list(ALGORITHMS)),
    ("entropy_coeff", "0.01", ["A2C", "PPO"]),
    ("env_config", [1], list(ALGORITHMS)),
    ("exploration_config", "greedy", ["DQN"]),
    ("train_batch_size", 0, ["PG", "A2C", "PPO", "DQN"]),
    ("buffer_size", 10.5, ["DQN"]),
    ("double_q", "yes", ["DQN"]),
    ("explore", 1, ["BC"]),
    ("hiddens", [256, -1], ["DQN"]),
    ("dueling", "yes", ["DQN"]),
    ("observation_filter", "MeanStd", list(ALGORITHMS)),
    ("num_gpus", -1, list(ALGORITHMS)),
    ("min_sample_timesteps_per_iteration", -1, list(ALGORITHMS)),
]


@pytest.mark.parametrize(
    "algo, key, value",
    [(a, k, v) for k, v, algos in ISSUE_CASES for a in algos],
    ids=lambda x: repr(x)[:20],
)
def test_bad_values_are_errors_naming_key_value_and_what_it_takes(algo, key, value):
    with pytest.raises(ValueError) as err:
        build(algo, {**SMALL, key: value})
    assert_named(err, algo, key, value)


# A value of the wrong type, or just outside the range, for every key of every kind.
def _bad_values(key):
    bad = {
        "int": [True, "3", 1.5],
        "float": ["0.1", math.nan, math.inf, True],
        "bool": ["no", 1, None],
        "choice": ["nonsense", 3],
        "dict": [[1], "x"],
        "schedule": [[[0]], "x", [[0, "a"]]],
        "paths": [3, [], [""]],
        "ints": [[0], "256", [1.5], 256],
        "any": [],
    }[key.kind]
    if key.low is not None and key.kind in ("int", "float"):
        bad.append(key.low if key.low_open else key.low - 1)
    if key.high is not None and key.kind in ("int", "float"):
        bad.append(key.high + 1)
    return [v for v in bad if not (v is None and key.none)]


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_every_key_of_every_algorithm_rejects_wrong_types_and_ranges(algo):
    keys = algorithm_keys(algo)
    checked = 0
    for name, key in keys.items():
        assert key.accepts(key.default), (algo, name)  # the table agrees with its defaults
        for value in _bad_values(key):
            with pytest.raises(ValueError) as err:
                build(algo, {**SMALL, name: value})
            assert f"'{name}'" in str(err.value), (name, value, str(err.value))
            checked += 1
    assert checked > 3 * len(keys) // 2


def test_nested_configs_are_checked_with_the_key_named():
    with pytest.raises(ValueError, match="'fcnet_hidden'.*did you mean 'fcnet_hiddens'"):
        build("PPO", {"model": {"fcnet_hidden": [8]}})
    with pytest.raises(ValueError, match="'fcnet_hiddens' takes a list of positive"):
        build("A2C", {"model": {"fcnet_hiddens": [0]}})
    with pytest.raises(ValueError, match="'initial_epsilon' takes a number in"):
        build("DQN", {"exploration_config": {"initial_epsilon": 2.0}})
    with pytest.raises(ValueError, match="'final_epsilo'.*did you mean 'final_epsilon'"):
        build("DQN", {"exploration_config": {"final_epsilo": 0.1}})


def test_good_values_build_and_numpy_numbers_count_as_numbers():
    import numpy as np

    trainer = build(
        "PPO",
        {
            **SMALL,
            "lr": np.float32(1e-3),
            "num_sgd_iter": np.int64(2),
            "lr_schedule": [[0, 1e-3], [10_000, 0.0]],  # RLlib's schedules decay to 0
        },
    )
    assert trainer.config["num_sgd_iter"] == 2
    trainer.stop()


def test_config_docs_are_generated_from_the_tables_and_up_to_date():
    with open(os.path.join(ROOT, "docs", "CONFIG.md")) as f:
        assert f.read() == markdown(), "regenerate: python -m rlkit.algorithms.config.docs"
    text = markdown()
    for algo in ALGORITHMS:
        assert f"## {algo}" in text
        for name in algorithm_keys(algo):
            assert f"`{name}`" in text
    for key in RLLIB_ONLY:
        assert f"`{key}`" in text


def test_algorithm_keys_serve_editors():
    keys = algorithm_keys("PPO")
    assert keys["clip_param"].default == 0.2 and keys["clip_param"].takes() == "a finite number > 0"
    assert keys["grad_clip"].default == 0.5 and COMMON_KEYS["grad_clip"].default is None
    assert keys["sgd_minibatch_size"].accepts(64) and not keys["sgd_minibatch_size"].accepts(-5)
    assert "input" in algorithm_keys("BC") and "input" not in keys
    with pytest.raises(ValueError, match="unknown algorithm 'PPX'"):
        algorithm_keys("PPX")


# -- no key accepted and ignored -------------------------------------------------------------


@pytest.mark.parametrize("algo", ["PG", "A2C", "PPO"])
def test_train_batch_size_is_the_steps_of_one_iteration(algo):
    config = {"model": {"fcnet_hiddens": [8]}, "num_envs": 4, "train_batch_size": 600, "seed": 0}
    trainer = build(algo, config)
    batches = []
    real_sample = trainer.sampler.sample
    trainer.sampler.sample = lambda n, **kw: batches.append(real_sample(n, **kw)) or batches[-1]
    result = trainer.train()
    rows = batches[0]["valid"].size  # env steps sampled, autoreset rows included
    assert rows == 600, rows
    assert 600 - 4 * 10 <= result["timesteps_total"] <= 600  # minus a few autoreset rows
    trainer.stop()


def test_train_batch_size_with_a_set_fragment_length_follows_rllibs_rule():
    # 4 envs x 50 = 200 steps per round: 3 rounds give 600, exactly.
    trainer = build(
        "PPO", {**SMALL, "num_envs": 4, "rollout_fragment_length": 50, "train_batch_size": 600}
    )
    assert trainer.steps_per_env == 150
    trainer.stop()
    # 4 x 100 = 400 per round: 2 rounds give 800, 33% over 600: an error with the fix.
    with pytest.raises(ValueError, match=r"train_batch_size 600.*rollout_fragment_length to 150"):
        build(
            "PPO", {**SMALL, "num_envs": 4, "rollout_fragment_length": 100, "train_batch_size": 600}
        )
    # Left out (or 'auto'), the fragment fits: RLlib PG's 200 steps from 8 envs.
    pg = PG(env="CartPole-v1", config={"train_batch_size": 200, "rollout_fragment_length": "auto"})
    assert pg.steps_per_env * pg.config["num_envs"] == 200
    pg.stop()


@pytest.mark.parametrize(
    "algo, key, advice",
    [
        ("PPO", "input", "only BC trains from offline data"),
        ("DQN", "input", "only BC trains from offline data"),
        ("BC", "train_batch_size", "num_sgd_iter gradient steps of sgd_minibatch_size"),
        ("BC", "gamma", "no discount"),
        ("PPO", "buffer_size", "belongs to DQN"),
        ("DQN", "clip_param", "belongs to PPO"),
    ],
)
def test_keys_an_algorithm_does_not_use_are_errors_with_advice(algo, key, advice):
    with pytest.raises(ValueError, match=advice):
        build(algo, {**SMALL, key: 1})


def test_min_sample_timesteps_per_iteration_sizes_an_iteration():
    dqn = DQN(env="CartPole-v1", config={"model": {"fcnet_hiddens": [8]}, "learning_starts": 96})
    result = dqn.train()  # RLlib's DQN iteration: at least 1000 env steps
    assert 1000 - 16 <= result["timesteps_total"] <= 1000 + 16
    assert result["num_updates"] >= 50 and math.isfinite(result["loss"])  # one per 16 steps
    dqn.stop()
    old_name = {**SMALL, "timesteps_per_iteration": 50, "seed": 0}
    ppo = build("PPO", old_name)  # 16 steps per training step: 4 steps give 64 >= 50
    assert ppo.train()["timesteps_total"] >= 50 - 4
    assert ppo.config["min_sample_timesteps_per_iteration"] == 50
    ppo.stop()


# -- RLlib's common keys -----------------------------------------------------------------------


def test_rllib_runner_keys_are_the_runner_settings():
    keys = PPO.config_keys()
    _, full = build_config(keys, "PPO", "CartPole-v1", {"num_workers": 2}, {})
    assert full["num_env_runners"] == 2  # rlkit.scaling's Ray runners (the ray tier)
    _, full = build_config(keys, "PPO", "CartPole-v1", {"num_envs_per_worker": 3}, {})
    assert full["num_envs"] == 3  # the envs of each runner (or of this process)


def test_rllib_common_keys_keep_their_meaning():
    rllib = {
        "env": "CartPole-v1",
        "framework": "torch",
        "num_workers": 0,
        "num_envs_per_worker": 2,
        "num_gpus": 0,
        "model": {"fcnet_hiddens": [8]},
    }
    trainer = PPO(config=rllib)
    assert trainer.device.type == "cpu" and trainer.config["num_envs"] == 2
    assert trainer.sampler.num_envs == 2 and trainer.config["num_env_runners"] == 0
    assert trainer.config["env"] == "CartPole-v1"
    trainer.stop()
    same = PPO(env="CartPole-v1", config=rllib)  # env= and config["env"] agree
    same.stop()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"framework": "tf2"}, r"'framework' takes 'torch'; got 'tf2'; rlkit is PyTorch"),
        ({"framework": "jax"}, "rlkit is PyTorch only"),
        ({"env": "Pendulum-v1"}, r"env='CartPole-v1' and config\['env'\]='Pendulum-v1'"),
        ({"num_gpus": 2}, "rlkit learns on one device"),
        ({"num_gpus": 0, "device": "cuda"}, "contradict"),
        ({"num_envs_per_worker": 2, "num_envs": 3}, "one setting"),
        ({"num_workers": 0, "num_env_runners": 1}, "'num_workers'.*older name"),
    ],
)
def test_rllib_common_keys_contradictions_are_clear_errors(config, message):
    with pytest.raises(ValueError, match=message):
        PPO(env="CartPole-v1", config=config)


@pytest.mark.parametrize(
    "key",
    [
        "kl_coeff",
        "num_cpus_per_worker",
        "evaluation_parallel_to_training",
        "callbacks",
        "horizon",
        "batch_mode",
        "num_epochs",
    ],
)
def test_rllib_keys_rlkit_lacks_say_so_and_never_guess(key):
    with pytest.raises(ValueError) as err:
        PPO(env="CartPole-v1", config={key: 1})
    text = str(err.value)
    assert f"'{key}' is RLlib's and not in rlkit's PPO" in text and RLLIB_ONLY[key] in text
    assert "did you mean" not in text


def test_unknown_keys_suggest_only_close_spellings():
    with pytest.raises(ValueError, match="did you mean 'num_sgd_iter'"):
        PPO(env="CartPole-v1", config={"num_sgd_iters": 3})
    with pytest.raises(ValueError) as err:
        PPO(env="CartPole-v1", config={"num_whatever": 3})
    assert "did you mean" not in str(err.value)
    assert re.search("valid keys are: .*clip_param", str(err.value))


def test_every_rllib_key_rlkit_lacks_is_refused_with_its_advice_by_every_algorithm():
    refused = 0
    for algo in ALGORITHMS:
        keys = algorithm_keys(algo)
        for key, advice in RLLIB_ONLY.items():
            if key in keys:  # e.g. BC's own 'explore'
                continue
            with pytest.raises(ValueError) as err:
                build(algo, {**SMALL, key: 1})
            assert advice in str(err.value) and "did you mean" not in str(err.value), key
            refused += 1
    assert refused >= 5 * len(RLLIB_ONLY) - 5


def test_train_batch_size_counts_the_envs_of_every_runner():
    # 2 runners x 4 envs = 8 envs: 800 steps are 100 per env (the runners are not started).
    trainer = PPO.__new__(PPO)
    _, trainer.config = build_config(
        PPO.config_keys(),
        "PPO",
        "CartPole-v1",
        {"num_env_runners": 2, "num_envs": 4, "train_batch_size": 800},
        {},
    )
    trainer.validate()
    assert trainer.steps_per_env * 2 * 4 == 800
