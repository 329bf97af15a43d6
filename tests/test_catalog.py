"""rlkit.catalog: what ModelCatalog builds for a space and a model config, and its checks.

Custom models, preprocessors and distributions are used as registered (never replaced by a
fallback); a wrong one fails at build time naming itself; unknown keys suggest the closest.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Dict, Discrete, MultiDiscrete, Tuple

from rlkit import MODEL_DEFAULTS, ModelCatalog
from rlkit.distributions import ActionDistribution, Categorical
from rlkit.models import Model
from rlkit.policy import Policy
from rlkit.preprocessors import Preprocessor


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
