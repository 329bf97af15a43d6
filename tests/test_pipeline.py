"""The assembled pipeline: catalog, policy, trace and explain on real environments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Dict, Discrete, Tuple
from gymnasium.wrappers import FilterObservation

from rlkit import ModelCatalog
from rlkit.envs import make_env
from rlkit.models import FullyConnectedNetwork, Model, VisionNetwork
from rlkit.policy import Policy

STAGES = ["env", "preprocessor", "filter", "model", "distribution", "action"]


def _batch_of_two(obs):
    if isinstance(obs, dict):
        return {k: _batch_of_two(v) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(_batch_of_two(v) for v in obs)
    return np.stack([np.asarray(obs)] * 2)


@pytest.mark.parametrize(
    "env_id, pre_shape, model_cls, num_outputs",
    [
        ("CartPole-v1", (4,), FullyConnectedNetwork, 2),
        ("Pendulum-v1", (3,), FullyConnectedNetwork, 2),
        ("Taxi-v4", (500,), FullyConnectedNetwork, 6),
        ("Blackjack-v1", (32 + 11 + 2,), FullyConnectedNetwork, 2),
        ("ALE/Pong-v5", (84, 84, 4), VisionNetwork, 6),  # DeepMind: a stack of 4 gray frames
    ],
)
def test_default_pipeline_on_real_reset_observations(env_id, pre_shape, model_cls, num_outputs):
    env = make_env(env_id)
    policy = Policy(env.observation_space, env.action_space, {"model": {"fcnet_hiddens": [16]}})
    obs, _ = env.reset(seed=0)
    stages = policy.trace(obs)
    assert [s.name for s in stages] == STAGES
    assert stages[1].shape == pre_shape and stages[1].dtype == "float32"
    assert isinstance(policy.model, model_cls)
    assert stages[3].shape == (num_outputs,)
    assert env.action_space.contains(_as_env_action(stages[5].output, env.action_space))
    actions, state, extra = policy.compute_actions(_batch_of_two(obs))
    assert state == [] and extra["action_logp"].shape == (2,)
    assert np.isfinite(extra["action_logp"]).all()
    for a in actions:
        assert env.action_space.contains(_as_env_action(a, env.action_space))
    env.close()


def _as_env_action(a, space):
    if isinstance(space, Discrete):
        return np.int64(a)
    return np.asarray(a, dtype=space.dtype)


def test_minigrid_text_mission_is_named_and_filter_observation_fixes_it():
    env = make_env("MiniGrid-Empty-5x5-v0")
    with pytest.raises(ValueError) as err:
        Policy(env.observation_space, env.action_space)
    assert "obs['mission']" in str(err.value) and "FilterObservation" in str(err.value)
    env = FilterObservation(env, ["direction", "image"])
    policy = Policy(env.observation_space, env.action_space, {"model": {"fcnet_hiddens": [16]}})
    obs, _ = env.reset(seed=0)
    stages = policy.trace(obs)
    # direction one-hot (4) + the 7x7x3 grid kept at its size (no upscaling to 84x84).
    assert stages[1].shape == (4 + 7 * 7 * 3,)
    assert stages[5].shape == ()


def test_raw_atari_frames_reach_vision_network_at_84x84():
    # preprocessor_pref "rllib": raw 210x160 RGB frames, resized by rlkit's ImagePreprocessor.
    env = make_env("ALE/Pong-v5", config={"preprocessor_pref": "rllib"})
    assert env.observation_space.shape == (210, 160, 3)
    policy = Policy(env.observation_space, env.action_space, {"model": {"dim": 84}})
    assert policy.preprocessor.shape == (84, 84, 3)
    text = policy.explain()
    assert "VisionNetwork" in text and "(84, 84, 3)" in text
    env.close()


class NestedObsModel(Model):
    """Records what it sees in input_dict so the test can check the restored layout."""

    seen: dict = {}

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, width=8):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = torch.nn.Linear(int(np.prod(obs_space.shape)), num_outputs)
        self.width = width

    def forward(self, input_dict, state, seq_lens):
        NestedObsModel.seen = {"obs": input_dict["obs"], "obs_flat": input_dict["obs_flat"]}
        self._batch = input_dict["obs_flat"].shape[0]
        return self.net(input_dict["obs_flat"]), state

    def value_function(self):
        return torch.zeros(self._batch)  # [B]: one value per row


def test_custom_model_sees_nested_obs_and_flat_vector():
    ModelCatalog.register_custom_model("nested_obs_model", NestedObsModel)
    space = Dict(
        {
            "pos": Box(-1, 1, (2, 3)),
            "mode": Discrete(3),
            "inner": Tuple((Discrete(2), Box(0, 1, (1,)))),
        }
    )
    policy = Policy(space, Discrete(2), {"model": {"custom_model": "nested_obs_model"}})
    obs = {
        "pos": np.arange(6, dtype=np.float32).reshape(2, 3) / 10,
        "mode": 2,
        "inner": (1, np.array([0.5], dtype=np.float32)),
    }
    policy.trace(obs)
    seen = NestedObsModel.seen
    assert seen["obs"]["pos"].shape == (1, 2, 3)
    assert torch.allclose(seen["obs"]["pos"][0], torch.as_tensor(obs["pos"]))
    assert seen["obs"]["mode"].tolist() == [[0.0, 0.0, 1.0]]
    assert seen["obs"]["inner"][0].tolist() == [[0.0, 1.0]]
    assert seen["obs"]["inner"][1].tolist() == [[0.5]]
    assert seen["obs_flat"].shape == (1, 2 + 1 + 3 + 6)


def test_custom_model_config_key_the_model_does_not_accept_is_an_error():
    ModelCatalog.register_custom_model("nested_obs_model", NestedObsModel)
    space, act = Box(-1, 1, (3,)), Discrete(2)
    config = {"custom_model": "nested_obs_model", "custom_model_config": {"widht": 4}}
    with pytest.raises(ValueError, match=r"'widht'.*did you mean 'width'"):
        Policy(space, act, {"model": config})
    config["custom_model_config"] = {"width": 4}
    assert Policy(space, act, {"model": config}).model.width == 4
