"""Tuple and Dict actions: MultiActionDistribution, and the default distribution of any space.

MultiActionDistribution has one child distribution per leaf. ``default_dist`` chooses the
default for any space and recurses into nested spaces, so it lives beside the class it builds.

The helpers convert between nested actions (a tuple / dict shaped like the space) and the flat
[B, F] layout, always in canonical order: depth first, Dict keys sorted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.distributions.base import (
    ActionDistribution,
    DistSpec,
    _as_inputs,
    _check_kind,
    _space_error,
)
from rlkit.distributions.categorical import Categorical, MultiCategorical
from rlkit.distributions.continuous import DiagGaussian
from rlkit.spaces import build_nested, children, is_nested, leaf_paths, path_str


def _nest(space: gym.Space, values: list) -> Any:
    """Children's values in canonical order -> a dict (keys sorted) or tuple like ``space``."""
    if isinstance(space, gym.spaces.Dict):
        return {key: value for (key, _), value in zip(children(space), values)}
    return tuple(values)


def _unnest(space: gym.Space, actions: Any) -> list:
    """A nested action (dict / tuple / list) -> its children's actions in canonical order."""
    keys = [key for key, _ in children(space)]
    if isinstance(space, gym.spaces.Dict):
        if not isinstance(actions, Mapping) or sorted(actions) != keys:
            found = sorted(actions) if isinstance(actions, Mapping) else type(actions).__name__
            raise ValueError(
                f"actions for {space} must be a dict with keys {keys} (or flat "
                f"[B, F] actions); got {found}"
            )
        return [actions[key] for key in keys]
    if not isinstance(actions, (tuple, list)) or len(actions) != len(keys):
        raise ValueError(
            f"actions for {space} must be a tuple of {len(keys)} actions (or flat "
            f"[B, F] actions); got {type(actions).__name__}"
        )
    return list(actions)


def _leaf_values(space: gym.Space, actions: Any) -> list:
    """A nested action -> its leaves' actions in canonical order (structure checked)."""
    if not is_nested(space):
        return [actions]
    return [
        leaf
        for (_, child), action in zip(children(space), _unnest(space, actions))
        for leaf in _leaf_values(child, action)
    ]


def _flat_width(space: gym.Space) -> int:
    """Columns of ``space`` in the flat layout: 1 per Discrete, prod(shape) per other leaf."""
    if is_nested(space):
        return sum(_flat_width(child) for _, child in children(space))
    return 1 if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))


def _flatten(space: gym.Space, actions: Any) -> torch.Tensor:
    """Nested actions of ``space`` -> float32 [B, F], leaves side by side in canonical order."""
    if not is_nested(space):
        actions = torch.as_tensor(actions)
        return actions.reshape(actions.shape[0], -1).float()  # [B, *shape] -> [B, width]
    parts = [
        _flatten(child, action)
        for (_, child), action in zip(children(space), _unnest(space, actions))
    ]
    return torch.cat(parts, dim=1)  # [B, F]


def _unflatten(space: gym.Space, flat: torch.Tensor) -> Any:
    """Float [B, F] -> nested actions of ``space`` (Discrete [B] / MultiDiscrete int64)."""
    if isinstance(space, gym.spaces.Discrete):
        return flat[:, 0].round().long()  # [B, 1] -> [B]
    if isinstance(space, gym.spaces.MultiDiscrete):
        return flat.round().long()  # [B, K]
    if isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.integer):
        return flat.round().long().reshape(flat.shape[0], *space.shape)  # [B, *shape]
    if not is_nested(space):
        return flat.reshape(flat.shape[0], *space.shape)  # [B, width] -> [B, *shape]
    widths = [_flat_width(child) for _, child in children(space)]
    parts = flat.split(widths, dim=1)  # one [B, width_i] per child
    return _nest(
        space, [_unflatten(child, part) for (_, child), part in zip(children(space), parts)]
    )


class MultiActionDistribution(ActionDistribution):
    """One child distribution per leaf of a Tuple or Dict action space (nested to any depth).

    As in RLlib, the children are the leaves' distributions in canonical order (depth first,
    Dict keys sorted): ``Tuple(Discrete(2), Dict(a=Box(3), b=Discrete(4)))`` has three.

    Actions come in two forms. *Nested*: a tuple / dict (keys sorted) shaped like the space,
    Discrete entries [B] int64, Box entries [B, *shape], MultiDiscrete [B, K]. *Flat*: one
    float32 tensor [B, F] with the leaves side by side in canonical order: 1 column per
    Discrete, prod(shape) columns per Box / MultiDiscrete.
    ``logp`` takes either form; entropy and kl are sums over the children.

    Args:
        inputs: [B, sum(input_lens)], the children's inputs side by side.
        model: the producing model, passed on to the children.
        action_space: the Tuple / Dict space.
        child_distributions: one class (or DistSpec) per leaf, in canonical order.
        input_lens: each child's num_outputs.
    """

    def __init__(
        self,
        inputs: Any,
        model: Any = None,
        *,
        action_space: gym.Space,
        child_distributions: Sequence[Any],
        input_lens: Sequence[int],
    ):
        super().__init__(inputs, model)
        inputs = _as_inputs(inputs, "MultiActionDistribution")
        if not is_nested(action_space):
            raise _space_error(
                "MultiActionDistribution", "a Tuple or Dict action space", action_space
            )
        self.action_space = action_space
        self.leaves = leaf_paths(action_space)  # [(path, leaf space)], canonical order
        input_lens = [int(n) for n in input_lens]
        if not len(child_distributions) == len(input_lens) == len(self.leaves):
            raise ValueError(
                f"MultiActionDistribution for {action_space} needs one child "
                f"distribution and one input_len per leaf ({len(self.leaves)}, depth first, "
                f"Dict keys sorted); got {len(child_distributions)} and {len(input_lens)}"
            )
        if sum(input_lens) != inputs.shape[1]:
            raise ValueError(
                f"MultiActionDistribution got {inputs.shape[1]} inputs per row but "
                f"input_lens={input_lens} sum to {sum(input_lens)}"
            )
        parts = inputs.split(input_lens, dim=1)  # [B, sum] -> one [B, len_i] per leaf
        self.children = [cls(part, model) for cls, part in zip(child_distributions, parts)]

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        """The sum of the default children's widths, over the leaves of a Tuple / Dict."""
        if not is_nested(action_space):
            raise _space_error(
                "MultiActionDistribution", "a Tuple or Dict action space", action_space
            )
        return default_dist(action_space, "action_space")[1]

    def _collect(self, method: str) -> Any:
        values = []
        for child, (_, space) in zip(self.children, self.leaves):
            action = getattr(child, method)()
            if isinstance(space, gym.spaces.Box):  # Box children give [B, A]
                action = action.reshape(action.shape[0], *space.shape)  # -> [B, *shape]
            values.append(action)
        return build_nested(self.action_space, values)

    def sample(self) -> Any:
        """Returns: a tuple / dict shaped like the space, of [B, ...] actions."""
        return self._record(self._collect("sample"))

    def deterministic_sample(self) -> Any:
        """Returns: a tuple / dict shaped like the space, of [B, ...] actions."""
        return self._record(self._collect("deterministic_sample"))

    def logp(self, actions: Any) -> torch.Tensor:
        """Args: actions: nested or flat [B, F] (see class doc). Returns: [B], sum over children."""
        if isinstance(actions, (torch.Tensor, np.ndarray)):
            actions = self.unflatten_actions(actions)
        leaves = _leaf_values(self.action_space, actions)
        return sum(child.logp(action) for child, action in zip(self.children, leaves))

    def entropy(self) -> torch.Tensor:
        """Returns: [B], the sum of the children's entropies."""
        return sum(child.entropy() for child in self.children)

    def kl(self, other: MultiActionDistribution) -> torch.Tensor:
        """Returns: [B], the sum of the children's KLs."""
        _check_kind(self, other)
        if other.action_space != self.action_space:
            raise ValueError(
                f"MultiActionDistribution.kl needs the same action space; got "
                f"{self.action_space} and {other.action_space}"
            )
        return sum(p.kl(q) for p, q in zip(self.children, other.children))

    def flatten_actions(self, actions: Any) -> torch.Tensor:
        """Nested actions -> flat float32 [B, F] (integers stay exact below 2**24)."""
        return _flatten(self.action_space, actions)

    def unflatten_actions(self, flat: Any) -> Any:
        """Flat [B, F] actions -> the nested form (Discrete and MultiDiscrete as int64)."""
        flat = torch.as_tensor(flat)
        width = _flat_width(self.action_space)
        if flat.dim() != 2 or flat.shape[1] != width:
            raise ValueError(
                f"flat actions for {self.action_space} must have shape "
                f"[B, {width}]; got {list(flat.shape)}"
            )
        return _unflatten(self.action_space, flat)


def default_dist(space: gym.Space, where: str) -> tuple[Any, int]:
    """(class, model output width) of the default distribution for ``space``.

    ``where`` names the space in errors (``action_space['move']``). See
    ``get_dist_class_for_space``.
    """
    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)) and np.any(space.start):
        raise ValueError(
            f"{where} is {space} with start={space.start}; rlkit's Categorical "
            "actions count from 0, so shift the env's actions (an ActionWrapper) "
            "or write a custom_action_dist"
        )
    if isinstance(space, gym.spaces.Discrete):
        return Categorical, int(space.n)
    if isinstance(space, gym.spaces.MultiDiscrete):
        lens = [int(n) for n in space.nvec.reshape(-1)]
        return DistSpec(MultiCategorical, {"input_lens": lens}), sum(lens)
    if isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating):
        return DiagGaussian, 2 * int(np.prod(space.shape))
    if isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.integer):
        # RLlib's choice: one Categorical per element over low..high (rlkit adds low back).
        lens = (space.high.astype(np.int64) - space.low.astype(np.int64) + 1).reshape(-1)
        dist = DistSpec(MultiCategorical, {"input_lens": lens.tolist(), "action_space": space})
        return dist, int(lens.sum())
    if is_nested(space):
        return with_leaf_children(MultiActionDistribution, space, where)
    raise ValueError(
        f"rlkit has no default action distribution for {where} = {space}. Write "
        "an ActionDistribution subclass, register it with ModelCatalog."
        "register_custom_action_dist(name, cls) and set the model config key "
        "'custom_action_dist' to name"
    )


def with_leaf_children(
    dist_class: type, space: gym.Space, where: str = "action_space"
) -> tuple[Any, int]:
    """A MultiActionDistribution class (or subclass) filled in with its leaves' defaults.

    Returns:
        (``DistSpec(dist_class, {"action_space": ..., "child_distributions": [one per
        leaf], "input_lens": [...]})``, the model output width: the sum of input_lens).
    """
    parts = [default_dist(leaf, path_str(path, where)) for path, leaf in leaf_paths(space)]
    dist = DistSpec(
        dist_class,
        {
            "action_space": space,
            "child_distributions": [cls for cls, _ in parts],
            "input_lens": [width for _, width in parts],
        },
    )
    return dist, sum(width for _, width in parts)
