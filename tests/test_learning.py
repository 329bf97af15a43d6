"""Learning tests (slow tier): each trainer must reach a reward a broken learner cannot."""

from __future__ import annotations

import math

import pytest
from memory_env import TokenMemoryEnv

from rlkit.algorithms import A2C, PG, PPO

pytestmark = pytest.mark.slow

MLP = {"fcnet_hiddens": [64, 64]}


def train_until(trainer, target: float, max_steps: int) -> dict:
    """Train until episode_reward_mean >= target or max_steps env steps; the last result."""
    while True:
        result = trainer.train()
        reward = result["episode_reward_mean"]
        if (not math.isnan(reward) and reward >= target) or result["timesteps_total"] >= max_steps:
            trainer.stop()
            return result


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ppo_solves_cartpole_within_150k_steps(seed):
    result = train_until(PPO(env="CartPole-v1", config={"seed": seed, "model": MLP}), 475, 150_000)
    assert result["episode_reward_mean"] >= 475, result["episode_reward_mean"]
    assert result["timesteps_total"] <= 150_000 + 8 * 128


@pytest.mark.parametrize("algo", [A2C, PG])
def test_a2c_and_pg_reach_195_on_cartpole_within_100k_steps(algo):
    result = train_until(algo(env="CartPole-v1", config={"seed": 0, "model": MLP}), 195, 100_000)
    assert result["episode_reward_mean"] >= 195, result["episode_reward_mean"]


def test_ppo_diag_gaussian_improves_pendulum_from_random_to_minus_400():
    config = {
        "seed": 0,
        "num_envs": 4,
        "rollout_fragment_length": 512,
        "gamma": 0.9,
        "lr": 1e-3,
        "num_sgd_iter": 10,
        "sgd_minibatch_size": 64,
        "observation_filter": "MeanStdFilter",
        "model": MLP,
    }
    trainer = PPO(env="Pendulum-v1", config=config)
    assert trainer.get_policy().dist_class.__name__ == "DiagGaussian"
    first = trainer.train()
    assert first["episode_reward_mean"] < -900  # a random policy scores about -1200
    result = train_until(trainer, -400, 500_000)
    assert result["episode_reward_mean"] >= -400, result["episode_reward_mean"]


def test_use_lstm_learns_a_memory_task_a_feedforward_model_cannot():
    # Say the token seen 2 steps ago: chance level (what any memoryless policy gets) is 6 of 18.
    common = {
        "seed": 0,
        "lr": 1e-3,
        "gamma": 0.5,
        "num_sgd_iter": 4,
        "env_config": {"k": 3, "delay": 2, "length": 20},
    }
    lstm = {"use_lstm": True, "lstm_cell_size": 64, "fcnet_hiddens": [64], "max_seq_len": 20}
    recurrent = train_until(PPO(env=TokenMemoryEnv, config={**common, "model": lstm}), 17, 60_000)
    feedforward = train_until(PPO(env=TokenMemoryEnv, config={**common, "model": MLP}), 17, 60_000)
    assert feedforward["episode_reward_mean"] < 8.0  # cannot beat chance by much
    assert recurrent["episode_reward_mean"] >= 2 * feedforward["episode_reward_mean"]
