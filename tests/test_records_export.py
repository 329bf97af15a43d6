"""Exported policies (rlkit.records.export): TorchScript and ONNX files give
compute_single_action's deterministic action on 100 observations, for Discrete actions, Box
actions (with a MeanStdFilter applied from policy_spec.json alone) and a Dict observation; a
model tracing cannot capture, and ONNX without onnx, are one-line errors that write nothing."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
import torch

from rlkit import ModelCatalog
from rlkit.algorithms import PPO
from rlkit.examples.envs import NestedSpaceEnv
from rlkit.models import Model
from rlkit.spaces import add_batch_dim

# torch 2.13 marks TorchScript deprecated; loading it is what a user of model.pt does.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

TINY = {"num_envs": 2, "rollout_fragment_length": 32, "seed": 0, "model": {"fcnet_hiddens": [16]}}
CASES = {
    "discrete": ("CartPole-v1", {}),
    "box": ("Pendulum-v1", {"observation_filter": "MeanStdFilter"}),
    "dict_obs": (NestedSpaceEnv, {}),
}


def action_from_spec(dist_inputs: np.ndarray, spec: dict) -> np.ndarray:
    """The deterministic action as policy_spec.json describes it (a user without rlkit)."""
    action = spec["action"]
    if spec["action_distribution"] == "Categorical":
        return dist_inputs.argmax(axis=1) + action["start"]
    assert spec["action_distribution"] == "DiagGaussian"
    size = int(np.prod(action["shape"]))
    mean = dist_inputs[:, :size].reshape(-1, *action["shape"])
    return np.clip(mean, action["low"], action["high"])


def filter_from_spec(x: np.ndarray, spec: dict) -> np.ndarray:
    f = spec["filter"]
    if f["name"] == "NoFilter":
        return x
    y = (x.astype(np.float64) - np.asarray(f["mean"])) / np.asarray(f["scale"])
    return np.clip(y, -f["clip"], f["clip"]).astype(np.float32)


@pytest.mark.parametrize("case", list(CASES))
def test_exported_files_give_compute_single_actions_action(case, tmp_path):
    import onnxruntime

    env, extra = CASES[case]
    trainer = PPO(env=env, config={**TINY, **extra})
    trainer.train()  # weights (and filter statistics) that are not the initial ones
    policy = trainer.get_policy()
    space = policy.observation_space
    space.seed(1)
    raw = [space.sample() for _ in range(100)]
    expected = np.array([trainer.compute_single_action(o, explore=False) for o in raw])
    inputs = np.concatenate([policy.preprocess(add_batch_dim(o), update_filter=False) for o in raw])
    assert trainer.export_policy_model(str(tmp_path), onnx=17) == str(tmp_path)
    trainer.stop()
    assert sorted(os.listdir(tmp_path)) == ["model.onnx", "model.pt", "policy_spec.json"]
    spec = json.loads((tmp_path / "policy_spec.json").read_text())
    assert spec["inputs"]["shape"] == ["B", *inputs.shape[1:]]
    if case != "dict_obs":  # a Box observation: the spec's filter alone gives the model's input
        stacked = np.stack(raw).astype(np.float32)
        np.testing.assert_allclose(filter_from_spec(stacked, spec), inputs, rtol=1e-6, atol=1e-6)

    scripted = torch.jit.load(str(tmp_path / "model.pt"))
    with torch.no_grad():
        ts_inputs = scripted(torch.as_tensor(inputs)).numpy()
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    onnx_inputs = session.run(["dist_inputs"], {"obs": inputs})[0]
    assert ts_inputs.shape == onnx_inputs.shape == (100, spec["outputs"]["shape"][1])
    for dist_inputs in (ts_inputs, onnx_inputs):
        actions = action_from_spec(dist_inputs, spec)
        if case == "box":
            np.testing.assert_allclose(actions, expected, rtol=1e-5, atol=1e-5)
        else:
            np.testing.assert_array_equal(actions, expected)
    np.testing.assert_allclose(onnx_inputs, ts_inputs, rtol=1e-4, atol=1e-5)


class SignSwitch(Model):
    """Python control flow on tensor values: tracing records only one branch."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = torch.nn.Linear(int(np.prod(obs_space.shape)), num_outputs)
        self.vf = torch.nn.Linear(int(np.prod(obs_space.shape)), 1)

    def forward(self, input_dict, state, seq_lens):
        x = input_dict["obs_flat"]
        self._value = self.vf(x).squeeze(1)
        if x[:, 0].sum() > 0:  # a branch on data
            return self.net(x), state
        return -self.net(x), state

    def value_function(self):
        return self._value


def test_a_model_tracing_cannot_capture_is_refused_and_nothing_is_written(tmp_path):
    ModelCatalog.register_custom_model("sign_switch", SignSwitch)
    trainer = PPO(env="CartPole-v1", config={**TINY, "model": {"custom_model": "sign_switch"}})
    target = tmp_path / "exported"
    with pytest.raises(ValueError) as err:
        trainer.export_policy_model(str(target))
    trainer.stop()
    text = str(err.value)
    assert "(SignSwitch) cannot be traced into TorchScript" in text and "\n" not in text
    assert "test_records_export.py:" in text and "torch.where" in text
    assert not target.exists()


def test_onnx_without_the_onnx_package_is_one_line_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    trainer = PPO(env="CartPole-v1", config=TINY)
    with pytest.raises(ImportError) as err:
        trainer.export_policy_model(str(tmp_path / "exported"), onnx=17)
    assert 'pip install "rlkit[export]"' in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "exported").exists()
    trainer.export_policy_model(str(tmp_path / "exported"))  # TorchScript needs torch alone
    trainer.stop()
    assert sorted(os.listdir(tmp_path / "exported")) == ["model.pt", "policy_spec.json"]


@pytest.mark.parametrize(
    "config, onnx, message",
    [
        ({"model": {"use_lstm": True, "lstm_cell_size": 8}}, None, "is recurrent"),
        ({}, 3, "takes an ONNX opset, an int in [9, 25]"),
        ({}, "17", "takes an ONNX opset"),
    ],
)
def test_exports_it_cannot_write_are_refused(config, onnx, message, tmp_path):
    trainer = PPO(env="CartPole-v1", config={**TINY, **config})
    with pytest.raises(ValueError, match=".") as err:
        trainer.export_policy_model(str(tmp_path / "x"), onnx=onnx)
    trainer.stop()
    assert message in str(err.value) and not (tmp_path / "x").exists()


def test_an_unwritable_export_folder_is_one_line(tmp_path):
    (tmp_path / "notes").write_text("a file where the folder would go")
    trainer = PPO(env="CartPole-v1", config=TINY)
    with pytest.raises(OSError, match="cannot write the exported policy to .*Not a directory"):
        trainer.export_policy_model(str(tmp_path / "notes" / "exported"))
    trainer.stop()
