"""RLlib-era code, written as an RLlib user writes it, runs on rlkit after the import swap.

Each test is one item of the migration guide (docs/MIGRATING_FROM_RLLIB.md): RLlib's module
names, model signatures, numpy initial states, list-form custom_loss, RLlib's JSON lines...
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.catalog import ModelCatalog
from rlkit.models import Model

# ---- names RLlib code imports or calls ------------------------------------------------------


def test_module_level_trainer_and_default_config():
    from rlkit.algorithms import a2c, bc, dqn, pg, ppo

    for module, name in ((ppo, "PPO"), (pg, "PG"), (a2c, "A2C"), (dqn, "DQN"), (bc, "BC")):
        assert getattr(module, f"{name}Trainer") is getattr(module, name)
        assert {"lr", "gamma", "model", "num_envs"} <= set(module.DEFAULT_CONFIG)
    assert ppo.DEFAULT_CONFIG["clip_param"] == 0.2 and dqn.DEFAULT_CONFIG["buffer_size"] > 0
    # RLlib's idiom: copy the module's DEFAULT_CONFIG, edit, pass it back whole.
    config = ppo.DEFAULT_CONFIG.copy()
    config["model"]["fcnet_hiddens"] = [8]
    config.update(num_envs=2, rollout_fragment_length=16, sgd_minibatch_size=32, seed=0)
    trainer = ppo.PPOTrainer(env="CartPole-v1", config=config)
    result = trainer.train()
    assert 24 <= result["timesteps_total"] <= 32  # 2 envs x 16 steps, less autoreset rows
    trainer.stop()
    # The edit stayed in the user's copy: a fresh import's defaults are RLlib-sized again.
    assert ppo.PPO.DEFAULT_CONFIG["model"] == {"vf_share_layers": False}


def test_save_without_directory_writes_under_results_dir(tmp_path, monkeypatch):
    from rlkit.algorithms import pg

    monkeypatch.setenv("RLKIT_RESULTS_DIR", str(tmp_path))
    config = {
        "num_envs": 1,
        "rollout_fragment_length": 8,
        "seed": 0,
        "model": {"fcnet_hiddens": [4]},
    }
    trainer = pg.PGTrainer(env="CartPole-v1", config=config)
    trainer.train()
    path = trainer.save()
    assert path.startswith(str(tmp_path)) and path.endswith("checkpoint_000001/checkpoint.pt")
    assert trainer.logdir.startswith(str(tmp_path / "PG_CartPole-v1_"))
    again = pg.PGTrainer(env="CartPole-v1", config=config)
    again.restore(path)
    assert again.iteration == 1
    trainer.stop()
    again.stop()


def test_catalog_get_preprocessor_takes_an_env():
    env = gym.make("FrozenLake-v1")
    prep = ModelCatalog.get_preprocessor(env)
    assert prep.shape == (16,) and prep.transform(3).tolist() == [0] * 3 + [1] + [0] * 12
    with pytest.raises(TypeError, match="get_preprocessor_for_space"):
        ModelCatalog.get_preprocessor(env.observation_space)


class TwoHeads(Model):
    """RLlib's parametric-actions idiom: a model that builds a sub-model through the catalog."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, width=8):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.width = width
        self.body = ModelCatalog.get_model_v2(
            obs_space,
            action_space,
            num_outputs,
            {"fcnet_hiddens": [width]},
            framework="torch",
            name="body",
        )

    def forward(self, input_dict, state, seq_lens):
        out, _ = self.body({"obs": input_dict["obs"]})
        return out, state

    def value_function(self):
        return self.body.value_function()


def test_get_model_v2_rllib_signature():
    obs_space, act_space = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2)
    ModelCatalog.register_custom_model("two_heads_rllib", TwoHeads)
    config = {"custom_model": "two_heads_rllib"}
    # RLlib passes extra constructor arguments as **model_kwargs.
    model = ModelCatalog.get_model_v2(obs_space, act_space, 2, config, "torch", "m", width=5)
    assert isinstance(model, TwoHeads) and model.width == 5
    out, _ = model({"obs": torch.zeros(4, 3)})
    assert out.shape == (4, 2)
    built = ModelCatalog.get_model_v2(obs_space, act_space, 2, {}, default_model=TwoHeads)
    assert isinstance(built, TwoHeads)
    with pytest.raises(ValueError, match="PyTorch only"):
        ModelCatalog.get_model_v2(obs_space, act_space, 2, {}, framework="tf")
    with pytest.raises(ValueError, match="not a parameter of TwoHeads"):
        ModelCatalog.get_model_v2(obs_space, act_space, 2, config, "torch", "m", depth=2)


def test_float_min_masks_logits_without_inf():
    from rlkit.torch_utils import FLOAT_MAX, FLOAT_MIN

    assert FLOAT_MIN == -FLOAT_MAX and FLOAT_MIN < -3.4e38
    logits = torch.zeros(1, 3, requires_grad=True)
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    masked = logits + torch.clamp(torch.log(mask), min=FLOAT_MIN)
    probs = torch.softmax(masked, dim=1)
    assert probs.tolist() == [[0.5, 0.0, 0.5]]
    probs[0, 0].backward()
    assert torch.isfinite(logits.grad).all()


def test_chop_into_sequences_rllib_signature():
    from rlkit.models.sequences import chop_into_sequences

    eps_ids = [1, 1, 1, 5, 5, 5, 5, 5]
    f_pad, s_init, seq_lens = chop_into_sequences(
        episode_ids=eps_ids,
        unroll_ids=np.ones_like(eps_ids),
        agent_indices=[0] * 8,
        feature_columns=[
            [11, 12, 13, 21, 22, 23, 24, 25],
            [[1], [2], [3], [4], [5], [6], [7], [8]],
        ],
        state_columns=[[90, 91, 92, 80, 81, 82, 83, 84]],
        max_seq_len=4,
    )
    assert seq_lens.tolist() == [3, 4, 1] and seq_lens.dtype == np.int32
    assert f_pad[0].tolist() == [11, 12, 13, 0, 21, 22, 23, 24, 25, 0, 0, 0]
    assert f_pad[1].shape == (12, 1) and f_pad[1][:, 0].tolist()[:5] == [1, 2, 3, 0, 4]
    assert s_init[0].tolist() == [90, 80, 84]
    # dynamic_max=False pads to max_seq_len; a new unroll id starts a new sequence.
    f_pad, s_init, seq_lens = chop_into_sequences(
        episode_ids=[3, 3, 3],
        unroll_ids=[0, 0, 1],
        feature_columns=[[1.0, 2.0, 3.0]],
        state_columns=[],
        max_seq_len=3,
        dynamic_max=False,
    )
    assert seq_lens.tolist() == [2, 1] and f_pad[0].tolist() == [1, 2, 0, 3, 0, 0]
