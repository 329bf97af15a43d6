"""A policy's model for use without rlkit: TorchScript (``model.pt``) and ONNX (``model.onnx``).

    >>> trainer.export_policy_model("exported", onnx=17)      # RLlib's name
    >>> net = torch.jit.load("exported/model.pt")             # torch alone, no rlkit
    >>> net(obs)                                              # [B, *obs_shape] -> [B, num_outputs]

Each file maps a preprocessed, filtered observation batch ``obs [B, *obs_shape] float32`` to the
action distribution's inputs ``dist_inputs [B, num_outputs]`` (logits for Categorical, mean and
log std for DiagGaussian), as RLlib's exported models do. What comes before (the preprocessor,
the filter's statistics) and after (the distribution's deterministic action) is written to
``policy_spec.json`` so that a program without rlkit can do both; docs/EXPORT.md shows it.

How the module is made: ``torch.jit.trace`` runs the model once on a batch of observations
and records the tensor operations. A Python ``if`` on a tensor's value would be recorded as
the one branch that batch took, so the trace is checked before anything is written: the
traced module must give the model's own outputs on 29 further observations, one at a time and
five together. ONNX is exported from that traced module (torch's TorchScript-based exporter)
and checked with ``onnx.checker``.

Every file is written to a temp file in the target folder and renamed once all are ready:
an error leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import os
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.records.files import atomic_path, check_writable
from rlkit.spaces import add_batch_dim

INSTALL_EXPORT = 'pip install "rlkit[export]" (or pip install onnx onnxruntime)'
ONNX_OPSETS = (9, 25)  # what torch's TorchScript-based ONNX exporter writes

# How each built-in distribution's deterministic action follows from dist_inputs [B, n].
DETERMINISTIC = {
    "Categorical": "argmax(dist_inputs, axis=1)",
    "MultiCategorical": "argmax of each slice of dist_inputs of the widths in 'action'['nvec']",
    "DiagGaussian": "dist_inputs[:, :A] (the mean; A = action size), clipped to [low, high]",
    "Deterministic": "dist_inputs clipped to [low, high]",
    "SquashedGaussian": "low + (tanh(dist_inputs[:, :A]) + 1) / 2 * (high - low)",
}


class DistInputs(torch.nn.Module):
    """``obs [B, *obs_shape] -> dist_inputs [B, num_outputs]``: the model without state."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The model's outputs for a batch of preprocessed, filtered observations."""
        outputs, _ = self.model({"obs": obs, "is_training": False}, [], None)
        return outputs


def export_policy(policy: Any, export_dir: str, onnx: int | None = None) -> str:
    """Write ``model.pt`` (TorchScript), ``policy_spec.json`` and, with ``onnx``, ``model.onnx``.

    Args:
        policy: an rlkit Policy (``trainer.get_policy()``) with a feed-forward model.
        export_dir: the folder (created when missing; files of an earlier export replaced).
        onnx: an ONNX opset (e.g. 17) to also write ``model.onnx``; None writes no ONNX.

    Returns:
        the folder's absolute path.

    Raises:
        ValueError: a recurrent model, a bad opset, or a model that tracing cannot capture.
        ImportError: ``onnx`` given and the onnx package missing.
        OSError: the folder cannot be written.
    """
    name = f"model '{policy.model.name}' ({type(policy.model).__name__})"
    if policy.is_recurrent():
        raise ValueError(
            f"{name} is recurrent; export_policy_model writes feed-forward models only: "
            f"export a model without use_lstm (its state would be an input and an output)"
        )
    if onnx is not None:
        _check_opset(onnx)
        _require("onnx", "ONNX export")
    module = DistInputs(copy.deepcopy(policy.model).cpu().eval())
    example, probes = _observation_batches(policy)
    traced = trace_checked(module, example, probes, name)
    folder = check_writable(export_dir, "the exported policy", "choose another export_dir")
    with contextlib.ExitStack() as stack:  # every file renamed into place only if all succeed
        tmp_pt = stack.enter_context(atomic_path(os.path.join(folder, "model.pt")))
        traced.save(tmp_pt)
        if onnx is not None:
            tmp_onnx = stack.enter_context(atomic_path(os.path.join(folder, "model.onnx")))
            _write_onnx(traced, example, tmp_onnx, onnx)
        tmp_spec = stack.enter_context(atomic_path(os.path.join(folder, "policy_spec.json")))
        with open(tmp_spec, "w", encoding="utf-8") as f:
            json.dump(policy_spec(policy, onnx), f, indent=2)
    return folder


def _check_opset(opset: Any) -> None:
    low, high = ONNX_OPSETS
    if isinstance(opset, bool) or not isinstance(opset, int) or not low <= opset <= high:
        raise ValueError(
            f"export_policy_model onnx= takes an ONNX opset, an int in [{low}, {high}] "
            f"(e.g. 17), or None for no ONNX file; got {opset!r}"
        )


def _require(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{what} needs the {module} package, which is not installed: {INSTALL_EXPORT}"
        ) from None


def _observation_batches(policy: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """An example batch [8, *obs_shape] and probes (24 rows one by one, 5 rows together).

    They come from the raw observation space (a fixed seed), through the policy's own
    preprocessor and filter (unchanged), so they look like what the model will see.
    """
    space = policy.observation_space
    space.seed(0)
    rows = [
        policy.preprocess(add_batch_dim(space.sample()), update_filter=False) for _ in range(37)
    ]
    obs = torch.as_tensor(np.concatenate(rows))  # [37, *obs_shape]
    if obs.dtype == torch.uint8:  # frames kept as bytes: the model's float input is scaled
        obs = policy.byte_scale(obs)
    obs = obs.float()
    return obs[:8], [obs[8:13], *obs[13:].split(1)]


def trace_checked(
    module: torch.nn.Module, example: torch.Tensor, probes: list[torch.Tensor], name: str
) -> torch.jit.ScriptModule:
    """``torch.jit.trace(module, example)``, refused when the trace is not the model.

    The traced module must give the model's own outputs on every probe batch (other rows,
    other batch sizes): a Python ``if`` on tensor values keeps the example's branch and fails
    on rows that take the other one. A TracerWarning from the model's own file (rlkit's shape
    checks warn too, harmlessly) is named in the error as the likely place.

    Raises:
        ValueError: tracing failed, or outputs differ on a probe. One line, with the fix.
    """
    fix = (
        "write data-dependent choices with tensor operations (torch.where, masks) instead of "
        "a Python if/for on tensor values; nothing was written"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.trace's own notice
        try:
            traced = torch.jit.trace(module, example, check_trace=False)
        except Exception as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
            raise ValueError(f"{name} cannot be traced into TorchScript ({first}); {fix}") from None
    rlkit_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outside = [
        f"{os.path.basename(w.filename)}:{w.lineno}"
        for w in caught
        if issubclass(w.category, torch.jit.TracerWarning)
        and not os.path.abspath(w.filename).startswith(rlkit_dir)
    ]
    with torch.no_grad():
        for batch in probes:
            if not torch.allclose(traced(batch), module(batch), rtol=1e-5, atol=1e-6):
                where = f" (a tensor read as a Python value at {outside[0]})" if outside else ""
                raise ValueError(
                    f"{name} cannot be traced into TorchScript: the traced module's outputs "
                    f"differ from the model's on a batch of {len(batch)} observation(s): "
                    f"Python control flow in forward{where}; {fix}"
                )
    return traced


def _write_onnx(traced: torch.jit.ScriptModule, example: torch.Tensor, path: str, opset: int):
    onnx = _require("onnx", "ONNX export")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)  # "no signature found": a traced module
        torch.onnx.export(
            traced,
            (example,),
            path,
            opset_version=opset,
            dynamo=False,  # from the traced module: the same graph as model.pt
            input_names=["obs"],
            output_names=["dist_inputs"],
            dynamic_axes={"obs": {0: "batch"}, "dist_inputs": {0: "batch"}},
        )
    onnx.checker.check_model(onnx.load(path))


def policy_spec(policy: Any, onnx: int | None = None) -> dict[str, Any]:
    """What a program without rlkit needs around the exported model (policy_spec.json)."""
    dist = policy.dist_class.__name__
    return {
        "inputs": {
            "name": "obs",
            "shape": ["B", *map(int, policy.preprocessor.shape)],
            "dtype": "float32",
            "preprocessor": type(policy.preprocessor).__name__,
            "observation_space": str(policy.observation_space),
        },
        "filter": filter_spec(policy.filter),
        "outputs": {"name": "dist_inputs", "shape": ["B", int(policy.num_outputs)]},
        "action_distribution": dist,
        "deterministic_action": DETERMINISTIC.get(
            dist, f"see rlkit's {dist}.deterministic_sample()"
        ),
        "action": action_spec(policy.action_space),
        "files": ["model.pt", *(["model.onnx"] if onnx is not None else [])],
        "onnx_opset": onnx,
    }


def filter_spec(obs_filter: Any) -> dict[str, Any]:
    """The observation filter as numbers: ``x = clip((x - mean) / scale, -clip, clip)``."""
    name = type(obs_filter).__name__
    if name == "NoFilter":
        return {"name": name, "formula": "x (unchanged)"}
    rs = obs_filter.rs
    mean = rs.mean if obs_filter.demean else np.zeros(obs_filter.shape)
    std = rs.std if (obs_filter.destd and rs.n >= 2) else np.ones(obs_filter.shape)
    scale = std + 1e-8 if obs_filter.destd else np.ones(obs_filter.shape)
    return {
        "name": name,
        "formula": "clip((x - mean) / scale, -clip, clip) in float64, then float32",
        "mean": np.asarray(mean, np.float64).tolist(),
        "scale": np.asarray(scale, np.float64).tolist(),
        "clip": obs_filter.clip,
    }


def action_spec(space: gym.Space) -> dict[str, Any]:
    """The action space as JSON: its kind, size and (for Box) bounds."""
    if isinstance(space, gym.spaces.Discrete):
        return {"space": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"space": "MultiDiscrete", "nvec": space.nvec.tolist()}
    if isinstance(space, gym.spaces.Box):
        return {
            "space": "Box",
            "shape": list(space.shape),
            "low": space.low.tolist(),
            "high": space.high.tolist(),
        }
    return {"space": str(space)}
