"""DQN's Q head (RLlib's hiddens and dueling): the numbers it computes, and that it learns."""

from __future__ import annotations

import pytest
import torch

from rlkit.algorithms import DQN
from rlkit.algorithms.dqn_head import QHeadModel
from rlkit.models import FullyConnectedNetwork

SMALL = {"model": {"fcnet_hiddens": [8]}, "num_envs": 2, "seed": 0}


def test_no_head_by_default_and_rllibs_parametric_setting_is_accepted():
    for config in (SMALL, {**SMALL, "hiddens": [], "dueling": False}):
        trainer = DQN(env="CartPole-v1", config=config)
        assert isinstance(trainer.model, FullyConnectedNetwork)  # outputs are the Q-values
        assert trainer.model.num_outputs == 2
        trainer.stop()


@pytest.mark.parametrize("dueling", [True, False])
def test_head_computes_rllibs_q_values(dueling):
    trainer = DQN(env="CartPole-v1", config={**SMALL, "hiddens": [16], "dueling": dueling})
    model = trainer.model
    assert isinstance(model, QHeadModel) and trainer.target_model is not model
    assert model.base.num_outputs == 8  # RLlib: the last fcnet_hiddens width, no final linear
    device = next(model.parameters()).device  # the learner's: CUDA where there is one
    obs = torch.randn(5, 4, device=device)
    with torch.no_grad():
        q, _ = model({"obs": obs}, [], None)
        features, _ = model.base({"obs": obs}, [], None)  # [5, 8]
        adv = model.advantage[1](model.advantage[0](features))  # [5, 2]
        expected = adv
        if dueling:
            value = model.value[1](model.value[0](features))  # [5, 1]
            expected = value + adv - adv.mean(dim=1, keepdim=True)
            torch.testing.assert_close((q - value).mean(dim=1), torch.zeros(5, device=device))
    assert q.shape == (5, 2)
    torch.testing.assert_close(q, expected)
    assert isinstance(model.advantage[0][1], torch.nn.ReLU)  # RLlib's head is relu
    trainer.stop()


def test_head_trains_saves_and_restores(tmp_path):
    config = {**SMALL, "hiddens": [16], "dueling": True, "learning_starts": 32}
    trainer = DQN(env="CartPole-v1", config={**config, "min_sample_timesteps_per_iteration": 64})
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    result = trainer.train()
    assert result["num_updates"] > 0 and result["loss"] == pytest.approx(result["loss"])
    changed = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("value.") for k in changed) and any(
        k.startswith("base.") for k in changed
    )
    path = trainer.save(str(tmp_path / "ckpt"))
    other = DQN(env="CartPole-v1", config={**config, "seed": 1})
    other.restore(path)
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(other.model.state_dict()[k], v)
    trainer.stop()
    other.stop()


@pytest.mark.slow
def test_dqn_with_rllibs_head_defaults_reaches_195_on_cartpole():
    trainer = DQN(env="CartPole-v1", config={"seed": 0, "hiddens": [256], "dueling": True})
    best = float("-inf")
    while trainer.timesteps_total < 100_000 and best < 195:
        best = max(best, trainer.train()["episode_reward_mean"])
    trainer.stop()
    assert best >= 195, f"mean return {best:.1f} after {trainer.timesteps_total} steps"
