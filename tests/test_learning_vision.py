"""Vision learning: a VisionNetwork learns MinAtar Breakout from its frames.

MinAtar (Young & Tian 2019) is Atari in miniature: ``MinAtar/Breakout-v1`` observes
``Box(bool, (10, 10, 4))`` (one channel each for paddle, ball, trail and bricks), has 3 actions,
and steps fast enough for a learning test on two CPU cores. The frames reach the default
model, a ``VisionNetwork`` (rank 3 -> conv stack ``[[16, 5, 2], [32, 5, 2]]`` -> 1x1).

Figures on this machine (2 shared cores, under load): a uniformly random policy scores 0.40 a
game over 100 games (``random_return()``). PPO reaches 4.5-5 after 40-100k env steps (90-180 s):
its threshold, 3.0, is 7.5 times the random return. DQN reaches 2.3 after 45k steps and 3.1
after 68k (about 280 s): its threshold, 2.0 after 60k steps, is 5 times the random return.
"""

from __future__ import annotations

import numpy as np
import pytest

from rlkit.algorithms import DQN, PPO
from rlkit.envs import make_env
from rlkit.models import VisionNetwork

pytestmark = pytest.mark.slow
pytest.importorskip("minatar")

ENV = "MinAtar/Breakout-v1"
THRESHOLD = 3.0
PPO_CONFIG = {
    "seed": 0,
    "num_envs": 8,
    "rollout_fragment_length": 128,
    "num_sgd_iter": 4,
    "sgd_minibatch_size": 256,
    "lr": 1e-3,
    "entropy_coeff": 0.01,
    "model": {"vf_share_layers": True, "post_fcnet_hiddens": [128]},
}


def random_return(episodes: int = 100, seed: int = 0) -> float:
    """Mean score of a uniformly random policy over ``episodes`` games."""
    env = make_env(ENV)
    env.action_space.seed(seed)
    returns = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def test_random_policy_scores_below_one():
    assert 0.1 < random_return() < 1.0  # measured: 0.40


def test_ppo_vision_network_learns_minatar_breakout():
    trainer = PPO(env=ENV, config=PPO_CONFIG)
    assert isinstance(trainer.policy.model, VisionNetwork)
    assert trainer.policy.observation_space.shape == (10, 10, 4)
    history = []
    while trainer.timesteps_total < 100_000:
        history.append(trainer.train()["episode_reward_mean"])
    trainer.stop()
    best = max(history[-5:])
    assert best >= THRESHOLD, f"PPO reached {best:.2f} (random: 0.40, threshold {THRESHOLD})"


DQN_CONFIG = {
    "seed": 0,
    "num_envs": 4,
    "rollout_fragment_length": 4,
    "train_batch_size": 32,
    "lr": 3e-4,
    "learning_starts": 2_000,
    "target_network_update_freq": 1_000,
    "buffer_size": 100_000,
    "exploration_config": {"final_epsilon": 0.05, "epsilon_timesteps": 40_000},
    "model": {"post_fcnet_hiddens": [128]},
}
DQN_THRESHOLD = 2.0  # five times the random policy's 0.40


def test_dqn_vision_network_learns_minatar_breakout():
    trainer = DQN(env=ENV, config=DQN_CONFIG)
    assert isinstance(trainer.policy.model, VisionNetwork)
    while trainer.timesteps_total < 60_000:
        result = trainer.train()
    trainer.stop()
    score = result["episode_reward_mean"]
    assert score >= DQN_THRESHOLD, f"DQN reached {score:.2f} (random: 0.40)"
