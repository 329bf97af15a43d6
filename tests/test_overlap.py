"""rlkit.overlap: two halves of ale-py's vector env, stepping while the other half acts."""

from __future__ import annotations

import functools
from collections import deque
from types import SimpleNamespace

import numpy as np
import pytest

from rlkit.algorithms import PPO
from rlkit.overlap import OverlappedSampler, join_halves

pytest.importorskip("ale_py")

PONG = "ALE/Pong-v5"
TINY = {"num_envs": 4, "rollout_fragment_length": 8, "seed": 0, "num_sgd_iter": 1}


def _greedy_rollout(pipeline: bool, steps: int) -> dict:
    trainer = PPO(env=PONG, config={**TINY, "sample_overlap": pipeline})
    greedy = functools.partial(trainer.policy.compute_actions, explore=False)
    batch = trainer.sampler.sample(steps, with_value=True, compute_actions=greedy)
    trainer.stop()
    return batch


def test_pipelined_rollout_equals_lockstep_for_the_same_actions():
    """Same seeds, same greedy policy: the halves play exactly the games lockstep plays."""
    lockstep, pipelined = _greedy_rollout(False, 24), _greedy_rollout(True, 24)
    assert set(lockstep) == set(pipelined)
    for key in ("obs", "actions", "rewards", "terminated", "truncated", "valid", "last_obs"):
        np.testing.assert_array_equal(pipelined[key], lockstep[key], err_msg=key)
    assert pipelined["obs"].shape == (24, 4, 84, 84, 4) and pipelined["obs"].dtype == np.uint8
    # values of 2-frame forwards against 4-frame ones: equal up to float rounding
    np.testing.assert_allclose(pipelined["vf_preds"], lockstep["vf_preds"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pipelined["next_vf"], lockstep["next_vf"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pipelined["next_vf"][:-1], pipelined["vf_preds"][1:])


def test_overlap_steps_halves_where_asked_and_says_so_while_the_default_is_lockstep():
    trainer = PPO(env=PONG, config={**TINY, "sample_overlap": "auto"})
    assert isinstance(trainer.sampler, OverlappedSampler)
    assert [h.num_envs for h in trainer.sampler.halves] == [2, 2]
    first, second = trainer.train(), trainer.train()
    assert first["sample_overlap"] == "on: halves of 2 + 2 envs"
    assert second["timesteps_total"] == 2 * 4 * 8  # every env's every step, two iterations
    assert np.isfinite(second["policy_loss"])
    trainer.stop()
    auto_one_env = {**TINY, "num_envs": 1, "sample_overlap": "auto"}
    numpy_false = {**TINY, "sample_overlap": np.False_}  # a bool the key takes, never "auto"
    for config in (TINY, {**TINY, "sample_overlap": False}, auto_one_env, numpy_false):
        trainer = PPO(env=PONG, config=config)
        assert trainer.train()["sample_overlap"].startswith("off")
        trainer.stop()
    cartpole_config = {"num_envs": 2, "rollout_fragment_length": 4, "sample_overlap": "auto"}
    cartpole = PPO(env="CartPole-v1", config=cartpole_config)
    assert cartpole.train()["sample_overlap"].startswith("off")  # gymnasium's cannot send


def test_sample_overlap_true_names_why_it_cannot():
    with pytest.raises(ValueError, match="sample_overlap.*cannot start a step and return"):
        PPO(env="CartPole-v1", config={"num_envs": 2, "sample_overlap": True})
    with pytest.raises(ValueError, match="num_envs is 1"):
        PPO(env=PONG, config={**TINY, "num_envs": 1, "sample_overlap": True})
    with pytest.raises(ValueError, match="sample_overlap"):
        PPO(env=PONG, config={**TINY, "sample_overlap": "yes"})


def test_an_interrupted_rollout_leaves_the_sampler_usable():
    trainer = PPO(env=PONG, config={**TINY, "sample_overlap": True})
    calls = {"n": 0}
    act = trainer.policy.compute_actions

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # in the third step, with half A's envs already sent
            raise KeyboardInterrupt
        return act(*args, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        trainer.sampler.sample(8, compute_actions=failing)
    batch = trainer.sampler.sample(8)  # the halves start fresh episodes
    assert batch["obs"].shape[:2] == (8, 4) and batch["valid"][0].all()
    trainer.stop()


def test_episodes_of_both_halves_reach_the_statistics_once():
    halves = [
        SimpleNamespace(episode_returns=deque(maxlen=100), episode_lengths=deque(maxlen=100),
                        episodes_total=0, policy=None, num_envs=2)
        for _ in range(2)
    ]  # fmt: skip
    sampler = OverlappedSampler(halves)
    halves[0].episode_returns.extend([1.0, 2.0])
    halves[0].episode_lengths.extend([10, 20])
    halves[0].episodes_total = 2
    halves[1].episode_returns.append(5.0)
    halves[1].episode_lengths.append(50)
    halves[1].episodes_total = 1
    sampler._count_episodes()
    sampler._count_episodes()  # nothing new
    assert list(sampler.episode_returns) == [1.0, 2.0, 5.0] and sampler.episodes_total == 3
    assert list(sampler.episode_lengths) == [10, 20, 50]


def test_join_halves_keeps_one_array_for_unfiltered_obs():
    part = {"obs": np.zeros((3, 2, 4)), "actions": np.ones((3, 2)), "last_obs": np.zeros((2, 4))}
    part["unfiltered_obs"] = part["obs"]
    part["state_in"] = [np.zeros((3, 2, 5))]
    joined = join_halves([part, dict(part)])
    assert joined["obs"].shape == (3, 4, 4) and joined["unfiltered_obs"] is joined["obs"]
    assert joined["last_obs"].shape == (4, 4) and joined["state_in"][0].shape == (3, 4, 5)
