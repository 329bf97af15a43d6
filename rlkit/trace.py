"""Teaching views of a policy: ``trace_policy`` and ``explain_components``.

``trace_policy`` shows every stage for one observation; ``explain_components`` gives a readable
account of what was built and why.

These are the code behind ``Policy.trace``, ``Policy.explain`` and ``ModelCatalog.explain``.
They read the assembled parts and never change them: the filter is applied without updating
its statistics, and the model runs in inference mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlkit.distributions import dist_name
from rlkit.spaces import first_of_batch


class Explanation(str):
    """explain()'s text; prints as plain text in notebooks (no quotes)."""

    def __repr__(self) -> str:
        return str(self)


@dataclass
class Stage:
    """One stage of the data flow for one observation (see Policy.trace)."""

    name: str  # "env", "preprocessor", "filter", "model", "distribution", "action"
    component: str  # what did the work, e.g. "OneHotPreprocessor" or "Categorical"
    output: Any  # numpy array (or nested dict/tuple of arrays for the env stage)
    shape: tuple
    dtype: str
    details: dict  # extras for the view: probabilities, value, LSTM state, action mask...


def _shape_dtype(x: Any) -> tuple[tuple, str]:
    if isinstance(x, dict):
        return tuple(_shape_dtype(v)[0] for v in x.values()), "dict"
    if isinstance(x, tuple):
        return tuple(_shape_dtype(v)[0] for v in x), "tuple"
    arr = np.asarray(x)
    return tuple(arr.shape), str(arr.dtype)


def _to_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return tuple(_to_numpy(v) for v in x)
    return x


def trace_policy(
    policy: Any,
    obs: Any,
    state: list | None = None,
    explore: bool = False,
    prev_action: Any = None,
    prev_reward: float = 0.0,
) -> list[Stage]:
    """Run one raw observation through every stage and return what each produced.

    Stage names, in order: env, preprocessor, filter, model, distribution, action. The
    filter is applied without updating its statistics, so tracing changes nothing. The model
    stage's details name the engine that runs the policy's rollouts and training ("engine",
    "engine_reason"; rlkit.engines); the trace itself always runs the model's own torch
    forward, which the numpy engine reproduces exactly.
    """
    pre = policy.preprocessor.transform(obs)
    filtered = policy.filter(pre[None], update=False)[0]
    stages = [
        _stage(
            "env",
            type(policy.observation_space).__name__,
            obs,
            {"space": repr(policy.observation_space)},
        ),
        _stage("preprocessor", type(policy.preprocessor).__name__, pre),
        _stage("filter", type(policy.filter).__name__, filtered),
    ]
    run = _run_model(policy, filtered, state, explore, prev_action, prev_reward)
    out = run["dist_inputs"][0].cpu().numpy()
    model_details = {
        "value": run["value"],
        "state": [s[0].cpu().numpy() for s in run["state_out"]],
        "state_out": run["state_out"],
        "engine": policy.engine.name,
        "engine_reason": policy.engine.reason,
    }
    stages.append(_stage("model", type(policy.model).__name__, out, model_details))
    details = {"logp": run["logp"]}
    probs = getattr(getattr(run["dist"], "dist", None), "probs", None)
    if probs is not None:
        details["probs"] = probs[0].cpu().numpy()
    stages.append(_stage("distribution", dist_name(policy.dist_class), out, details))
    env_action = policy.to_env_actions(policy.flatten_actions(run["actions"]))
    action = _to_numpy(first_of_batch(env_action))
    stages.append(_stage("action", repr(policy.action_space), action))
    return stages


def _stage(name: str, component: str, value: Any, details: dict | None = None) -> Stage:
    """A Stage of ``value`` with its shape and dtype."""
    return Stage(name, component, value, *_shape_dtype(value), details if details else {})


def _run_model(
    policy: Any,
    filtered: Any,
    state: list | None,
    explore: bool,
    prev_action: Any,
    prev_reward: float,
) -> dict[str, Any]:
    """The model's forward on one filtered observation, its value and the chosen action.

    Returns: {"dist_inputs": [1, n], "state_out", "value" (None without a value function),
        "dist", "actions" (a batch of one), "logp"}.
    """
    if state is None:
        state = policy.get_initial_state(1)
    prev_actions = None
    if policy.model_config["lstm_use_prev_action"]:
        prev_actions = (
            np.zeros((1, *policy.action_space.shape))
            if prev_action is None
            else np.asarray(prev_action)[None]
        )
    with torch.inference_mode():
        input_dict = policy.input_dict(filtered[None], prev_actions, [prev_reward])
        seq_lens = torch.ones(1, dtype=torch.long) if state else None
        dist_inputs, state_out = policy.model(input_dict, state, seq_lens)
        try:
            value = float(policy.model.value_function()[0])
        except NotImplementedError:
            value = None
        dist = policy.dist_class(dist_inputs, policy.model)
        actions = dist.sample() if explore else dist.deterministic_sample()
        logp = float(dist.logp(actions)[0])
    return {
        "dist_inputs": dist_inputs,
        "state_out": state_out,
        "value": value,
        "dist": dist,
        "actions": actions,
        "logp": logp,
    }


def explain_components(parts: Any) -> Explanation:
    """What was built for these spaces and why, with the shape at each stage.

    Args:
        parts: a ``Policy`` or ``rlkit.catalog.Components``: anything with observation_space,
            action_space, model_config, preprocessor, filter, model, dist_class, num_outputs.
    """
    cfg = parts.model_config
    pre = parts.preprocessor
    n_params = sum(p.numel() for p in parts.model.parameters())
    model_why = (
        f"custom model '{cfg['custom_model']}'"
        if cfg["custom_model"]
        else "observation rank >= 3 -> VisionNetwork"
        if len(pre.shape) >= 3
        else "observation rank < 3 -> FullyConnectedNetwork"
    )
    note = getattr(parts, "env_note", "")  # what the env side did (Atari's preprocessing)
    lines = [f"env           {note}"] if note else []
    scale = getattr(parts, "byte_scale", None)  # a Policy's: frames stored as uint8
    lines += [
        f"observation   {parts.observation_space}",
        f"preprocessor  {type(pre).__name__} -> shape {tuple(pre.shape)} float32"
        + (f" = {scale}, applied as the model reads: batches keep uint8 frames" if scale else ""),
        f"filter        {type(parts.filter).__name__} -> shape {tuple(pre.shape)} float32",
        f"model         {type(parts.model).__name__} ({model_why}"
        f"{', wrapped in an LSTM' if cfg['use_lstm'] else ''}) -> [B, {parts.num_outputs}], "
        f"{n_params:,} parameters",
    ]
    for layer_name, shape in getattr(parts.model, "layer_shapes", []):
        lines.append(f"                {layer_name}: {shape}")
    if len(parts.model.get_initial_state()) > 0:
        shapes = [tuple(s.shape) for s in parts.model.get_initial_state()]
        lines.append(f"                recurrent state {shapes}, max_seq_len {cfg['max_seq_len']}")
    lines += [
        f"distribution  {dist_name(parts.dist_class)} reads {parts.num_outputs} model outputs",
        f"action        {parts.action_space}",
    ]
    engine = getattr(parts, "engine", None)  # a Policy has one, the catalog's parts do not
    if engine is not None:
        lines.append(f"engine        {engine.name} ({engine.reason})")
    threads = getattr(parts, "threads", None)  # a Policy's num_threads, as applied (threads)
    if threads is not None:
        lines.append(f"threads       {threads.describe()}")
    return Explanation("\n".join(lines))
