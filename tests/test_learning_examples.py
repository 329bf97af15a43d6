"""Learning tests of rlkit.examples (slow tier): each example reaches the figure issue 4 asks
for, within a step budget about twice what seed 0 needs, and runs from the command line."""

import subprocess
import sys

import numpy as np
import pytest

from rlkit.examples import EXAMPLES
from rlkit.examples import autoregressive_actions as ar
from rlkit.examples import batch_norm as bn
from rlkit.examples import custom_action_dist as cad
from rlkit.examples import custom_model as cm
from rlkit.examples import custom_preprocessor as cp
from rlkit.examples import nested_observations as nested
from rlkit.examples import parametric_actions as pa
from rlkit.examples import recurrent_model as rnn
from rlkit.examples import self_supervised_loss as ssl
from rlkit.examples import supervised_loss as sl
from rlkit.examples.common import make_trainer, steps_to_reach, train

pytestmark = pytest.mark.slow


def learn(algo, env, config, stop_reward, budget, **kwargs):
    """Train to ``stop_reward`` within ``budget`` steps; returns the history."""
    trainer = make_trainer(algo, env, config)
    try:
        return train(trainer, stop_reward, budget, verbose=False, **kwargs)
    finally:
        trainer.stop()


def final_reward(history):
    return history[-1]["episode_reward_mean"]


# -- the thresholds issue 4 states ------------------------------------------------------------
@pytest.mark.parametrize(
    "algo, mode, budget",
    [
        ("PPO", "both", 60_000),
        ("A2C", "both", 60_000),
        ("PG", "both", 80_000),
        ("DQN", "both", 120_000),
        ("PPO", "embeddings", 60_000),
        ("A2C", "embeddings", 60_000),
        ("PG", "embeddings", 80_000),
        ("DQN", "embeddings", 150_000),
        ("PPO", "masking", 100_000),
        ("A2C", "masking", 300_000),
        ("PG", "masking", 150_000),
        ("DQN", "masking", 150_000),
    ],
)
def test_parametric_actions_learn(algo, mode, budget):
    # The env raises on an invalid slot, so reaching the reward also shows none was chosen.
    history = learn(algo, "ParametricActionsCartPole", pa.config(algo, mode), 150, budget)
    assert final_reward(history) >= 150, (algo, mode, history[-1]["timesteps_total"])


def test_autoregressive_actions_reach_200_with_ppo():
    history = learn("PPO", "CorrelatedActionsEnv", ar.config(), 200, 100_000)
    assert 200 <= final_reward(history) <= 210


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_imitation_loss_makes_pg_reach_195_in_fewer_steps(seed, tmp_path, record_property):
    path = sl.write_expert_data(str(tmp_path))
    runs = {}
    for label, files in (("pg_plus_imitation", path), ("pg_alone", None)):
        history = learn("PG", "CartPole-v1", sl.config(files, seed), 195, 150_000)
        runs[label] = steps_to_reach(history, 195)
        record_property(f"steps_{label}", runs[label])
    print(f"\nseed {seed}, steps to reach 195: {runs}")
    assert runs["pg_plus_imitation"] is not None
    assert runs["pg_alone"] is None or runs["pg_plus_imitation"] < runs["pg_alone"]


def test_reconstruction_error_falls_during_training():
    history = learn("PPO", "CartPole-v1", ssl.config(), None, 20_000)
    recon = [r["recon_loss"] for r in history]
    # Observations are MeanStdFilter-normalised: 1.0 is the error of predicting the mean.
    assert np.mean(recon[-3:]) < 0.5 * np.mean(recon[:2]), recon


# -- the other examples learn too -------------------------------------------------------------
@pytest.mark.parametrize("algo", ["PPO", "A2C"])
def test_custom_model_learns_cartpole(algo):
    assert final_reward(learn(algo, "CartPole-v1", cm.config(0, algo), 195, 80_000)) >= 195


@pytest.mark.parametrize("model", ["custom", "use_lstm"])
def test_recurrent_models_learn_to_remember(model):
    # A feed-forward policy scores about 0 here; the best is 19.
    history = learn("PPO", "RepeatAfterMeEnv", rnn.config(model), 15, 100_000)
    assert final_reward(history) >= 15


@pytest.mark.parametrize(
    "env, reward, budget", [("NestedSpaceEnv", 9, 60_000), ("MiniGridNested", 0.9, 60_000)]
)
def test_nested_observation_models_learn(env, reward, budget):
    assert final_reward(learn("PPO", env, nested.config(env), reward, budget)) >= reward


def test_batch_norm_model_learns_cartpole():
    assert final_reward(learn("PPO", "CartPole-v1", bn.config(), 195, 120_000)) >= 195


@pytest.mark.parametrize("variant", ["preprocessor", "wrapper"])
def test_custom_preprocessor_and_wrapper_learn(variant):
    env = cp.VARIANTS[variant][0]
    assert final_reward(learn("PPO", env, cp.config(variant), 195, 100_000)) >= 195


def test_custom_action_dist_learns_cartpole():
    assert final_reward(learn("PPO", "CartPole-v1", cad.config(0.8), 195, 80_000)) >= 195


# -- every example runs from the command line -------------------------------------------------
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_runs_from_the_command_line(name):
    out = subprocess.run(
        [sys.executable, "-m", f"rlkit.examples.{name}", "--stop-timesteps", "1", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "final: episode_reward_mean" in out.stdout
