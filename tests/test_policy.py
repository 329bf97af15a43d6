"""rlkit.policy: raw observations through the assembled pipeline to actions, traces, explain.

Nested action spaces round-trip through the learner layout; explain() names every stage with
its shapes; a recurrent policy's trace shows its state.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Box, Dict, Discrete

from rlkit import ModelCatalog
from rlkit.policy import Policy


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
