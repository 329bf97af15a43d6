"""The assembled pipeline: catalog, policy, trace and explain on real environments."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Dict, Discrete, MultiDiscrete, Tuple
from gymnasium.wrappers import FilterObservation

from rlkit import MODEL_DEFAULTS, ModelCatalog
from rlkit.distributions import ActionDistribution, Categorical
from rlkit.envs import make_env
from rlkit.models import FullyConnectedNetwork, Model, VisionNetwork
from rlkit.policy import Policy
from rlkit.preprocessors import Preprocessor

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


class WrongWidthModel(Model):
    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = torch.nn.Linear(obs_space.shape[0], 5)

    def forward(self, input_dict, state, seq_lens):
        return self.net(input_dict["obs_flat"]), state


class StateNotListModel(WrongWidthModel):
    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = torch.nn.Linear(obs_space.shape[0], num_outputs)

    def get_initial_state(self):
        return [torch.zeros(4)]

    def forward(self, input_dict, state, seq_lens):
        return self.net(input_dict["obs_flat"]), state[0]


class WrongStateShapeModel(StateNotListModel):
    def forward(self, input_dict, state, seq_lens):
        return self.net(input_dict["obs_flat"]), [torch.zeros(state[0].shape[0], 7)]


@pytest.mark.parametrize(
    "cls, pattern",
    [
        (WrongWidthModel, r"model 'model' \(WrongWidthModel\).*\[2, 5\].*\[2, 2\].*num_outputs=2"),
        (StateNotListModel, r"StateNotListModel.*list"),
        (WrongStateShapeModel, r"WrongStateShapeModel.*\[\[2, 7\]\].*\[\[2, 4\]\]"),
    ],
)
def test_custom_model_build_time_checks_name_the_model(cls, pattern):
    ModelCatalog.register_custom_model(cls.__name__, cls)
    with pytest.raises(ValueError, match=pattern):
        Policy(Box(-1, 1, (3,)), Discrete(2), {"model": {"custom_model": cls.__name__}})


def test_unknown_model_key_suggests_the_closest():
    with pytest.raises(ValueError, match=r"'fcnet_hidden'.*did you mean 'fcnet_hiddens'"):
        ModelCatalog.get_action_dist(Discrete(2), {"fcnet_hidden": [4]})
    assert MODEL_DEFAULTS["fcnet_hiddens"] == [256, 256] and MODEL_DEFAULTS["vf_share_layers"]


def test_unregistered_custom_model_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match=r"no custom model named 'nope'.*register_custom_model"):
        Policy(Box(-1, 1, (3,)), Discrete(2), {"model": {"custom_model": "nope"}})


class HalfPreprocessor(Preprocessor):
    def _init_shape(self, obs_space, options):
        return (obs_space.shape[0],)

    def transform(self, observation):
        return (np.asarray(observation, dtype=np.float32) * 0.5).astype(np.float32)


def test_custom_preprocessor_is_used_for_single_and_batched_obs():
    ModelCatalog.register_custom_preprocessor("half", HalfPreprocessor)
    policy = Policy(
        Box(-10, 10, (3,)),
        Discrete(2),
        {"model": {"custom_preprocessor": "half", "fcnet_hiddens": [4]}},
    )
    obs = np.array([2.0, 4.0, -6.0], dtype=np.float32)
    assert policy.trace(obs)[1].output.tolist() == [1.0, 2.0, -3.0]
    assert policy.preprocess(np.stack([obs, 2 * obs])).tolist() == [[1, 2, -3], [2, 4, -6]]


class SevenWide(ActionDistribution):
    @staticmethod
    def required_model_output_shape(action_space, model_config):
        return 7

    def __init__(self, inputs, model):
        super().__init__(inputs, model)
        assert model.num_outputs == 7
        self.cat = Categorical(inputs[:, :2])

    def sample(self):
        return self.cat.sample()

    def deterministic_sample(self):
        return self.cat.deterministic_sample()

    def logp(self, actions):
        return self.cat.logp(actions)


def test_custom_action_dist_sets_model_width():
    ModelCatalog.register_custom_action_dist("seven", SevenWide)
    policy = Policy(Box(-1, 1, (3,)), Discrete(2), {"model": {"custom_action_dist": "seven"}})
    assert policy.num_outputs == 7 and policy.model.num_outputs == 7
    actions, _, extra = policy.compute_actions(np.zeros((4, 3), np.float32))
    assert set(actions.tolist()) <= {0, 1}
    assert np.allclose(extra["action_logp"], np.log(0.5), atol=0.05)


@pytest.mark.parametrize(
    "space, width",
    [
        (Discrete(2), 2),
        (Box(-1, 1, (3,)), 6),
        (MultiDiscrete([1, 2, 3, 4]), 10),
        (Tuple((Discrete(2), Discrete(3), Box(-1, 1, (5,)))), 15),
        (Dict({"a": Discrete(5), "b": Box(-1, 1, (3,))}), 11),
    ],
)
def test_catalog_action_dist_widths(space, width):
    _, num_outputs = ModelCatalog.get_action_dist(space, {})
    assert num_outputs == width


def test_nested_action_space_round_trips_through_policy():
    act = Dict({"move": Discrete(3), "force": Box(-1, 1, (2,))})
    policy = Policy(Box(-1, 1, (4,)), act, {"model": {"fcnet_hiddens": [8]}})
    actions, _, extra = policy.compute_actions(np.zeros((5, 4), np.float32))
    assert extra["actions"].shape == (5, 3)  # one column for move, two for force
    assert actions["move"].shape == (5,) and actions["force"].shape == (5, 2)
    for i in range(5):
        assert act.contains({"move": np.int64(actions["move"][i]), "force": actions["force"][i]})


def test_explain_names_every_stage_with_shapes():
    text = str(ModelCatalog.explain(Discrete(500), Discrete(6), {"fcnet_hiddens": [64]}))
    for fragment in (
        "OneHotPreprocessor",
        "(500,)",
        "FullyConnectedNetwork",
        "Categorical",
        "[B, 6]",
        "Discrete(6)",
    ):
        assert fragment in text


def test_lstm_policy_trace_shows_state_and_single_action_returns_it():
    policy = Policy(
        Box(-1, 1, (3,)),
        Discrete(2),
        {"model": {"use_lstm": True, "lstm_cell_size": 16, "fcnet_hiddens": [8]}},
    )
    stages = policy.trace(np.zeros(3, np.float32))
    assert [s.shape for s in stages[3].details["state"]] == [(16,), (16,)]
    assert gym.spaces.Discrete(2).contains(np.int64(stages[5].output))
