"""Reliability: non-finite data never reaches weights or statistics, and every fault leaves a
trainer as it was (issue 14, sections 1 and 5), for every algorithm it applies to.

Each test builds tiny trainers (2 envs x 8 steps of tests/faulty_envs.FaultyEnv) and compares
a trainer's whole learning state (weights, Adam's moments, DQN's target network, the filter's
statistics, the counters) bit for bit before and after the fault.
"""

from __future__ import annotations

import json
import pathlib
import threading

import numpy as np
import pytest
import torch
from faulty_envs import FaultyEnv
from reliability_helpers import (
    ALGOS,
    assert_same,
    expert_file,
    make_trainer,
    state,
    weights_finite,
)

from rlkit.catalog import ModelCatalog
from rlkit.engines.learner import NonFiniteUpdateError
from rlkit.filters import MeanStdFilter, RunningStat
from rlkit.models.fcnet import FullyConnectedNetwork
from rlkit.policy import Policy
from rlkit.utils.guards import NonFiniteDataError

ENV_FAULTS = ["nan_reward", "inf_reward", "-inf_reward", "nan_obs", "inf_obs", "-inf_obs"]


# -- 1. non-finite data is stopped where it enters -------------------------------------------
@pytest.mark.parametrize("fault", ENV_FAULTS)
@pytest.mark.parametrize("algo", ALGOS)
def test_nonfinite_env_data_is_stopped_and_the_trainer_is_unchanged(algo, fault, tmp_path):
    trainer = make_trainer(
        algo, tmp_path, {"fault": fault, "at": 3}, observation_filter="MeanStdFilter"
    )
    before = state(trainer)
    with pytest.raises(NonFiniteDataError) as err:
        trainer.train()
    field = "reward" if fault.endswith("reward") else "observation"
    assert f"env 0 returned {field if field == 'observation' else 'reward'}" in str(err.value) or (
        f"env 0 returned an {field}" in str(err.value)
    )
    assert "step 3 of its episode" in str(err.value)
    assert_same(state(trainer), before)  # BC's gradient steps before the rollout: undone
    assert trainer.policy.filter.rs.n == before["filter"]["rs"]["n"]
    trainer.stop()


def test_a_nonfinite_prev_reward_or_state_by_hand_is_refused(tmp_path):
    trainer = make_trainer("PPO", tmp_path, model={"use_lstm": True, "lstm_cell_size": 4,
                                                   "lstm_use_prev_reward": True})  # fmt: skip
    with pytest.raises(NonFiniteDataError, match="prev_reward=nan"):
        trainer.compute_single_action(np.zeros(3, np.float32), prev_reward=float("nan"))
    _, state_out, _ = trainer.compute_single_action(np.zeros(3, np.float32))
    state_out[0] = state_out[0] * float("nan")
    with pytest.raises(NonFiniteDataError, match="recurrent state holding NaN"):
        trainer.compute_single_action(np.zeros(3, np.float32), state=state_out)
    trainer.stop()


@pytest.mark.parametrize("box", [False, True])
def test_nonfinite_observation_by_hand_is_blamed_on_the_observation(box, tmp_path):
    trainer = make_trainer("PPO", tmp_path, {"box": box}, observation_filter="MeanStdFilter")
    with pytest.raises(NonFiniteDataError, match="the observation is at fault, not the model"):
        trainer.compute_single_action(np.array([0.0, np.nan, 1.0], np.float32))
    with pytest.raises(NonFiniteDataError):
        trainer.compute_single_action(np.array([0.0, np.inf, 1.0], np.float32), explore=True)
    assert trainer.policy.filter.rs.n == 0
    trainer.stop()


class NanOutputModel(FullyConnectedNetwork):
    """A broken custom model: NaN outputs for observations above 100 (finite inputs)."""

    def forward(self, input_dict, state, seq_lens):
        out, state = super().forward(input_dict, state, seq_lens)
        broken = (input_dict["obs"][:, :1] > 100).float()  # [B, 1]
        return out + torch.log(1 - broken), state  # log(0) = -inf on the broken rows


ModelCatalog.register_custom_model("reliability_nan_output", NanOutputModel)


@pytest.mark.parametrize("custom", [False, True])
@pytest.mark.parametrize("explore", [False, True])
def test_box_actions_never_send_nan_to_env_step(custom, explore):
    env = FaultyEnv({"box": True})
    model = {"fcnet_hiddens": [8]}
    if custom:
        model["custom_model"] = "reliability_nan_output"
    policy = Policy(env.observation_space, env.action_space, {"model": model})
    obs = np.zeros((2, 3), np.float32)
    if custom:
        obs[1, 0] = 1000.0  # -> -inf outputs
    else:
        with torch.no_grad():  # weights gone bad: NaN outputs on the numpy engine's path
            for p in policy.model.parameters():
                p.fill_(float("inf"))
    with pytest.raises(ValueError, match="non-finite actions|invalid values"):
        policy.compute_actions(obs, explore=explore)


class NanLossModel(FullyConnectedNetwork):
    """custom_loss returns NaN on its ``nan_at``-th call (counted from 1), the loss otherwise."""

    nan_at = 2
    kind = "loss"  # or "grad": a finite loss with a NaN gradient

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def custom_loss(self, policy_loss, loss_inputs):
        self.calls += 1
        if self.calls != self.nan_at:
            return policy_loss
        if self.kind == "loss":
            return policy_loss * float("nan")
        # A finite loss (+0) whose gradient is NaN: d sqrt(|x|) / dx at 0 is 0 * inf.
        weight = next(iter(self.parameters()))
        return policy_loss + (weight - weight.detach()).abs().sqrt().sum()


ModelCatalog.register_custom_model("reliability_nan_loss", NanLossModel)


@pytest.mark.parametrize("kind", ["loss", "grad"])
@pytest.mark.parametrize("algo", ALGOS)
def test_a_nonfinite_loss_is_never_applied_and_the_iteration_is_undone(algo, kind, tmp_path):
    # PG takes one step per iteration: the first call is the NaN one there.
    NanLossModel.nan_at = 1 if algo == "PG" else 2
    NanLossModel.kind = kind
    trainer = make_trainer(
        algo, tmp_path, model={"custom_model": "reliability_nan_loss", "fcnet_hiddens": [8]}
    )
    before = state(trainer)
    message = "the loss is nan" if kind == "loss" else "the gradient of parameter 0"
    with pytest.raises(NonFiniteUpdateError, match=message):
        trainer.train()
    assert trainer.model.calls >= NanLossModel.nan_at
    assert_same(state(trainer), before)  # earlier minibatch steps rolled back too
    trainer.model.calls = 10  # past nan_at: the next call learns normally
    result = trainer.train()
    assert result["training_iteration"] == 1 and weights_finite(trainer)
    trainer.stop()


@pytest.mark.parametrize("algo", ["PPO", "A2C"])  # the algorithms with a numpy twin
def test_the_numpy_engine_step_is_guarded_too(algo, tmp_path):
    model = {"fcnet_hiddens": [8], "vf_share_layers": False}
    trainer = make_trainer(algo, tmp_path, model=model, engine="numpy")
    assert trainer.engine.name == "numpy"
    with torch.no_grad():  # a value head that overflows: the value loss is infinite
        trainer.model._value_head.weight.fill_(3e38)
    before = state(trainer)
    with pytest.raises(NonFiniteUpdateError, match="refused a gradient step"):
        trainer.train()
    assert_same(state(trainer), before)
    trainer.stop()


def test_filter_statistics_never_ingest_nonfinite_values():
    f = MeanStdFilter((3,))
    f(np.ones((4, 3)))
    mean, n = f.rs.mean, f.rs.n
    for bad in (np.nan, np.inf, -np.inf):
        x = np.ones((2, 3))
        x[1, 2] = bad
        with pytest.raises(NonFiniteDataError):
            f(x)
        with pytest.raises(NonFiniteDataError):
            f(x[1], update=False)
        with pytest.raises(NonFiniteDataError):
            RunningStat((3,)).push_batch(x)
    assert f.rs.n == n and np.array_equal(f.rs.mean, mean)
    poisoned = f.get_state()
    poisoned["rs"]["mean"] = [0.0, float("nan"), 0.0]
    with pytest.raises(ValueError, match="must be finite"):
        f.set_state(poisoned)
    assert f.rs.n == n and np.array_equal(f.rs.mean, mean)


OFFLINE_FAULTS = [
    ({"obs": [[0.0, float("nan"), 0.0], [1.0, 1.0, 1.0]]}, "field 'obs' holds NaN"),
    ({"obs": [[0.0, None, 0.0], [1.0, 1.0, 1.0]]}, "field 'obs' is not a rectangular"),
    ({"rewards": [1.0, None]}, "field 'rewards'"),
    ({"rewards": [1.0, float("inf")]}, "field 'rewards' holds NaN or Infinity in row 1"),
    ({"terminated": [None, False]}, "field 'terminated'"),
    ({"actions": [0, None]}, "field 'actions'"),
    ({"action_logp": [0.0, float("-inf")]}, "field 'action_logp'"),
    ({"actions": [0, 2]}, "action 2 is not in the action space Discrete(2)"),
    ({"actions": [-1, 0]}, "action -1 is not in the action space"),
    ({"actions": [0.5, 1]}, "action 0.5 is not in the action space"),
    ({k: [] for k in ("obs", "actions", "rewards", "terminated", "truncated", "eps_id",
                      "action_logp")}, "zero rows"),
]  # fmt: skip


@pytest.mark.parametrize("override, message", OFFLINE_FAULTS)
def test_bad_offline_values_are_named_by_file_line_and_field(override, message, tmp_path):
    good = json.loads(pathlib.Path(expert_file(str(tmp_path), rows=2)).read_text())
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, **override}) + "\n")
    with pytest.raises(ValueError) as err:
        make_trainer("BC", tmp_path, input=str(path))
    assert f"{path}, line 2" in str(err.value) and message in str(err.value)


def test_a_binary_offline_file_is_named(tmp_path):
    path = tmp_path / "weights.jsonl"
    path.write_bytes(b"\x80\x04\x95" + bytes(range(256)))
    with pytest.raises(ValueError, match="not a UTF-8 text file") as err:
        make_trainer("BC", tmp_path, input=str(path))
    assert str(path) in str(err.value)


# -- 5. faults leave a consistent trainer ------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")  # gymnasium prints the worker's traceback
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("algo", ALGOS)
def test_an_env_exception_leaves_a_trainer_that_trains_on(algo, mode, tmp_path):
    marker = str(tmp_path / "crashed-once")
    trainer = make_trainer(
        algo, tmp_path, {"fault": "raise", "at": 5, "marker": marker}, vector_mode=mode
    )
    before = state(trainer)
    with pytest.raises(RuntimeError, match="the simulator crashed"):
        trainer.train()
    assert_same(state(trainer), before)
    for i in (1, 2):  # the env is restarted, and training goes on
        assert trainer.train()["training_iteration"] == i
    assert trainer.timesteps_total == 2 * 16
    trainer.stop()


@pytest.mark.parametrize("algo", ALGOS)
def test_keyboard_interrupt_mid_update_applies_none_of_it(algo, tmp_path):
    trainer = make_trainer(algo, tmp_path, observation_filter="MeanStdFilter")
    trainer.train()
    before = state(trainer)
    step = trainer.optimizer.step
    calls = []

    def interrupted_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2 or algo == "PG":  # PG takes one step per iteration
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    trainer.optimizer.step = interrupted_step
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert_same(state(trainer), before)
    trainer.optimizer.step = step
    assert trainer.train()["training_iteration"] == 2
    trainer.stop()


@pytest.mark.parametrize("algo", ["PPO", "A2C", "PG"])
def test_notebook_calls_while_a_thread_trains_an_lstm(algo, tmp_path):
    """What a TrainingDashboard does: train() in a thread while the notebook asks for actions
    (Policy.lock keeps each forward with the value_function() reading its cache)."""
    trainer = make_trainer(
        algo, tmp_path, model={"use_lstm": True, "lstm_cell_size": 4, "fcnet_hiddens": [4]}
    )
    errors: list[BaseException] = []

    def train():
        try:
            for _ in range(4):
                trainer.train()
        except BaseException as err:  # noqa: BLE001 (reported by the assert below)
            errors.append(err)

    thread = threading.Thread(target=train)
    thread.start()
    calls = 0
    while thread.is_alive() or calls < 20:
        action, state_out, _ = trainer.compute_single_action(np.zeros(3, np.float32))
        assert action in (0, 1) and len(state_out) == 2
        calls += 1
    thread.join()
    assert errors == [] and trainer.iteration == 4
    trainer.stop()
