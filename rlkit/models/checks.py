"""Build-time checks of a model: one forward pass on zeros, before any training.

``check_model`` catches a wrong output width, a ``[B, 1]`` value, a state in the wrong layout;
``build_custom_model`` catches a custom ``__init__`` that skipped ``super().__init__()``. Each
error names the model, so a student's mistake is reported where it is made.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch

from rlkit.models.base import Model


def build_custom_model(cls: type, custom: str, args: tuple, kwargs: dict) -> Model:
    """``cls(*args, **kwargs)``, with a clear error when its __init__ skipped the base's."""
    hint = (
        f"custom model '{custom}' ({cls.__name__}): its __init__ must first call "
        f"super().__init__(obs_space, action_space, num_outputs, model_config, name), before "
        f"it creates layers or attributes"
    )
    try:
        model = cls(*args, **kwargs)
    except AttributeError as err:
        if "before Module.__init__() call" in str(err):
            raise TypeError(f"{hint} ({err})") from err
        raise
    if "_modules" not in vars(model) or "model_config" not in vars(model):
        raise TypeError(f"{hint}; it did not")
    return model


def dummy_input_dict(
    model: Model, obs_space: gym.Space, action_space: gym.Space, batch: int = 2
) -> dict[str, Any]:
    """A batch of zeros in the layout a trainer passes (used for build-time checks and traces)."""
    device = next(iter(model.parameters()), torch.zeros(0)).device
    input_dict: dict[str, Any] = {
        "obs": torch.zeros((batch, *obs_space.shape), dtype=torch.float32, device=device),
        "is_training": False,
        "prev_rewards": torch.zeros(batch, device=device),
    }
    if isinstance(action_space, (gym.spaces.Discrete,)):
        input_dict["prev_actions"] = torch.zeros(batch, dtype=torch.long, device=device)
    elif isinstance(action_space, gym.spaces.MultiDiscrete):
        input_dict["prev_actions"] = torch.zeros(
            (batch, len(action_space.nvec)), dtype=torch.long, device=device
        )
    elif isinstance(action_space, gym.spaces.Box):
        input_dict["prev_actions"] = torch.zeros((batch, *action_space.shape), device=device)
    return input_dict


def check_model(
    model: Model, obs_space: gym.Space, action_space: gym.Space, num_outputs: int
) -> None:
    """Run one forward pass on zeros and check output width and state layout.

    A wrong custom model then fails at build time with its name in the message, not deep
    inside training.
    """
    label = f"model '{model.name}' ({type(model).__name__})"
    initial = model.get_initial_state()
    if not isinstance(initial, (list, tuple)):
        raise ValueError(
            f"{label}.get_initial_state() returned {type(initial).__name__}; it must return a "
            f"list of tensors without the batch dimension ([] for a feed-forward model)"
        )
    batch = 2
    state = [
        torch.as_tensor(s).unsqueeze(0).repeat(batch, *([1] * torch.as_tensor(s).dim()))
        for s in initial
    ]
    seq_lens = torch.ones(batch, dtype=torch.long) if initial else None
    input_dict = dummy_input_dict(model, obs_space, action_space, batch)
    was_training = model.training
    with torch.no_grad():
        out, state_out = model(input_dict, state, seq_lens)
        try:
            value = model.value_function()
        except Exception:  # no critic (DQN's Q-network): nothing to check; PPO asks later
            value = None
    model.train(was_training)
    if out.shape != (batch, num_outputs):
        raise ValueError(
            f"{label} returned outputs of shape {list(out.shape)} for a batch of {batch}, but the "
            f"action distribution needs [{batch}, {num_outputs}] (num_outputs={num_outputs})"
        )
    if value is not None and (not isinstance(value, torch.Tensor) or value.shape != (batch,)):
        got = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(
            f"{label}.value_function() returned {got} for a batch of {batch}, but it must "
            f"return [{batch}], one value per row (a [B, 1] value would broadcast the value "
            f"loss to [B, B]); return e.g. self._value.squeeze(1)"
        )
    expected = [list(s.shape) for s in state]
    got = [list(s.shape) for s in state_out]
    if expected != got:
        raise ValueError(
            f"{label} returned state shapes {got} but get_initial_state() implies {expected} "
            f"(with the batch dimension first); forward must return the state in the same layout"
        )


def forward_hook_site(model: torch.nn.Module) -> str | None:
    """Where a forward (pre-)hook would see ``model``'s forward, in words; None when nowhere.

    A hook must see every forward, so code that runs a model's maths another way (the numpy
    engine) asks this first. torch keeps hooks in private dicts: this is the one place in
    rlkit that reads them (with ``has_forward_hooks``).
    """
    if has_forward_hooks([]):
        return "a global forward hook is registered"
    for name, mod in model.named_modules():
        if has_forward_hooks([mod]):
            where = f"module '{name}'" if name else "the model"
            return f"a forward hook is registered on {where}"
    return None


def has_forward_hooks(modules: list[torch.nn.Module]) -> bool:
    """True when a global forward hook, or one on any of ``modules``, is registered."""
    from torch.nn.modules import module as m

    if m._global_forward_hooks or m._global_forward_pre_hooks:
        return True
    return any(mod._forward_hooks or mod._forward_pre_hooks for mod in modules)
