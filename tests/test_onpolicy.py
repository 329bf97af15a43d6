"""rlkit.algorithms.onpolicy: the loop PG, A2C and PPO share (sample, advantages, learn)."""

from __future__ import annotations

import pytest
import torch

from rlkit.algorithms import PPO

# PPO on CartPole-v1, seed 1: recorded at commit e6b80df, before the layout moves of issue 23
# (rlkit/utils, rlkit/engines/learner.py, rlkit/engines/numpy, rlkit/algorithms/config,
# rlkit/offline). Moving a file must not move a number; a change that does (a new op order, a
# new random draw) updates these on purpose and says why in its commit. The sums are compared
# to 1e-6, not bit for bit, so that another CPU's float rounding does not fail the test.
SEED1_CONFIG = {
    "seed": 1,
    "num_envs": 4,
    "train_batch_size": 256,
    "sgd_minibatch_size": 64,
    "num_sgd_iter": 2,
    "model": {"fcnet_hiddens": [16, 16]},
}
SEED1_RETURNS = [20.555555555555557, 22.11764705882353]
SEED1_PARAM_SUMS = {
    "_hidden.0.weight": 1.5807619,
    "_hidden.0.bias": -0.0019631,
    "_hidden.2.weight": 3.069521,
    "_hidden.2.bias": -0.0018632,
    "_logits.weight": -0.0008282,
    "_logits.bias": 0.0,
    "_value_tower.0.weight": 2.168288,
    "_value_tower.0.bias": -0.0285684,
    "_value_tower.2.weight": 6.4035126,
    "_value_tower.2.bias": 0.0096577,
    "_value_head.weight": -0.3152919,
    "_value_head.bias": 0.0047985,
}


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_ppo_seed1_returns_and_weights_are_those_recorded_before_the_layout_moves(engine):
    trainer = PPO(env="CartPole-v1", config={**SEED1_CONFIG, "engine": engine})
    returns = [trainer.train()["episode_reward_mean"] for _ in range(2)]
    assert returns == SEED1_RETURNS
    sums = {k: float(v.double().sum()) for k, v in trainer.get_policy().model.state_dict().items()}
    assert sums == pytest.approx(SEED1_PARAM_SUMS, abs=1e-6)
    assert all(torch.isfinite(p).all() for p in trainer.get_policy().model.parameters())
