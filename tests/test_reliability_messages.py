"""Reliability: shapes caught at build time, cost that grows with the work, and messages that
name the cause (issue 14, sections 4, 6 and 8), for every algorithm they apply to."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from reliability_helpers import ALGOS, make_trainer

from rlkit.algorithms import ALGORITHMS
from rlkit.catalog import ModelCatalog
from rlkit.models.base import Model
from rlkit.spaces import one_hot


# -- 4. shapes a student gets wrong, caught when the model is built ---------------------------
class ColumnValueModel(Model):
    """value_function() returns [B, 1] instead of [B]: the classic mistake."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.pi = torch.nn.Linear(3, num_outputs)
        self.vf = torch.nn.Linear(3, 1)

    def forward(self, input_dict, state, seq_lens):
        self._x = input_dict["obs_flat"]
        return self.pi(self._x), state

    def value_function(self):
        return self.vf(self._x)  # [B, 1]: forgot .squeeze(1)


class ScalarValueModel(ColumnValueModel):
    def value_function(self):
        return self.vf(self._x).mean()  # []: one value for the whole batch


ModelCatalog.register_custom_model("reliability_value_column", ColumnValueModel)
ModelCatalog.register_custom_model("reliability_value_scalar", ScalarValueModel)


@pytest.mark.parametrize("model, got", [("reliability_value_column", "[2, 1]"),
                                        ("reliability_value_scalar", "[]")])  # fmt: skip
@pytest.mark.parametrize("algo", ["PG", "A2C", "PPO"])
def test_a_value_of_the_wrong_shape_fails_at_build_time(algo, model, got, tmp_path):
    with pytest.raises(ValueError, match=r"value_function\(\) returned " + got.replace("[", r"\[")):
        make_trainer(algo, tmp_path, model={"custom_model": model})


class NoSuperModel(Model):
    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        self.pi = torch.nn.Linear(3, num_outputs)  # super().__init__ forgotten

    def forward(self, input_dict, state, seq_lens):
        return self.pi(input_dict["obs_flat"]), state


class NoSuperNoLayersModel(Model):
    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        self.width = num_outputs  # super().__init__ forgotten, no layer assigned yet


ModelCatalog.register_custom_model("reliability_no_super", NoSuperModel)
ModelCatalog.register_custom_model("reliability_no_super_2", NoSuperNoLayersModel)


@pytest.mark.parametrize("model", ["reliability_no_super", "reliability_no_super_2"])
@pytest.mark.parametrize("algo", ALGOS)
def test_a_forgotten_super_init_is_named(algo, model, tmp_path):
    with pytest.raises(TypeError, match=r"must first call\s+super\(\).__init__"):
        make_trainer(algo, tmp_path, model={"custom_model": model})


# -- 6. one-hot cost grows with the batch, not with n x n -------------------------------------
def test_one_hot_matches_the_identity_rows():
    x = np.array([[0, 4], [2, 2]])
    assert np.array_equal(one_hot(x, 5), np.eye(5, dtype=np.float32)[x])
    assert one_hot(x, 5).dtype == np.float32 and one_hot(3, 4).tolist() == [0, 0, 0, 1]


def test_discrete_million_observations_train_with_a_small_batch():
    """Discrete(10**6) one-hot: [B, 10**6] per batch; an n x n identity would need 3.6 TiB."""

    class HugeDiscrete(gym.Env):
        observation_space = gym.spaces.Discrete(10**6)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return int(self.np_random.integers(10**6)), {}

        def step(self, action):
            return int(self.np_random.integers(10**6)), 1.0, False, False, {}

    trainer = ALGORITHMS["PPO"](
        env=HugeDiscrete,
        config={"num_envs": 2, "rollout_fragment_length": 4, "num_sgd_iter": 1,
                "model": {"fcnet_hiddens": [2], "vf_share_layers": True}},
    )  # fmt: skip
    obs = trainer.policy.preprocess(np.array([999_999, 0]), update_filter=False)
    assert obs.shape == (2, 10**6) and obs[0, 999_999] == 1.0 and obs.sum() == 2.0
    assert trainer.train()["timesteps_total"] == 8
    trainer.stop()


# -- 8. messages that name the cause --------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")  # gymnasium prints the worker's traceback
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "fault, error, message",
    [("old_api", TypeError, "old gym env returns \\(obs, reward, done, info\\)"),
     ("old_reset", TypeError, "\\(obs, info\\) from reset\\(\\)"),
     ("wrong_shape", ValueError, "does not fit its observation_space")],
)  # fmt: skip
@pytest.mark.parametrize("algo", ALGOS)
def test_env_api_mistakes_are_named(algo, fault, error, message, mode, tmp_path):
    with pytest.raises(error, match=message):
        trainer = make_trainer(algo, tmp_path, {"fault": fault, "at": 2}, vector_mode=mode)
        trainer.train()


def test_a_wrong_shape_observation_by_hand_is_named(tmp_path):
    trainer = make_trainer("PPO", tmp_path)
    with pytest.raises(ValueError, match=r"shape") as err:
        trainer.compute_single_action(np.zeros(4, np.float32))
    assert "Output array" not in str(err.value)
    trainer.stop()
