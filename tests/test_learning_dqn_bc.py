"""Learning tests (slow tier): DQN solves CartPole; BC clones a PPO expert from its JSON output."""

from __future__ import annotations

import os

import pytest

from rlkit.algorithms import BC, DQN, PPO


@pytest.mark.slow
def test_dqn_defaults_reach_195_on_cartpole_within_100k_steps():
    trainer = DQN(env="CartPole-v1", config={"seed": 0})
    best = float("-inf")
    while trainer.timesteps_total < 100_000 and best < 195:
        best = max(best, trainer.train()["episode_reward_mean"])
    trainer.stop()
    assert best >= 195, f"mean return {best:.1f} after {trainer.timesteps_total} steps"


@pytest.mark.slow
def test_bc_clones_a_ppo_expert_from_its_json_output(tmp_path):
    # 1. PPO with its defaults until it solves CartPole (mean return >= 475).
    expert = PPO(env="CartPole-v1", config={"seed": 0})
    result = {"episode_reward_mean": float("nan")}
    while expert.timesteps_total < 300_000 and not result["episode_reward_mean"] >= 475:
        result = expert.train()
    assert result["episode_reward_mean"] >= 475
    checkpoint = expert.save(str(tmp_path / "expert"))
    expert.stop()
    # 2. The solved policy, restored into a trainer with output, records ~5k expert steps.
    data = str(tmp_path / "data")
    recorder = PPO(env="CartPole-v1", config={"seed": 0, "output": data})
    recorder.restore(checkpoint)
    for _ in range(5):
        recorder.train()
    recorder.stop()
    assert os.listdir(data)
    # 3. BC on those steps plays (deterministically) almost as well.
    clone = BC(env="CartPole-v1", config={"seed": 0, "input": data})
    result = {"episode_reward_mean": float("nan"), "episodes_total": 0}
    for _ in range(60):
        result = clone.train()
        if result["episodes_total"] >= 10 and result["episode_reward_mean"] >= 400:
            break
    clone.stop()
    assert result["episode_reward_mean"] >= 400, result
