"""The ActionDistribution base class and the checks all distributions share.

A subclass defines ``sample`` and ``logp`` (and ideally the rest); a sample method that ends
with ``return self._record(action)`` makes ``sampled_action_logp()`` work. The ``_``-prefixed
helpers turn bad inputs into errors that say how to fix them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch


class ActionDistribution:
    """Base class: subclass it and define ``sample``, ``logp`` (and ideally the rest).

    ``sampled_action_logp()`` is ``logp`` of the action last handed out: a ``sample`` or
    ``deterministic_sample`` that wants it ends with ``return self._record(action)`` (as RLlib's
    distributions set ``last_sample``); the policy itself calls ``logp(actions)`` directly.

    Args:
        inputs: [B, num_outputs] model outputs (logits or parameters, never probabilities).
        model: the model that produced them (custom distributions may read its attributes).
    """

    def __init__(self, inputs: Any, model: Any = None):
        # numpy inputs are kept as a tensor, so every distribution's .inputs is one.
        self.inputs = torch.as_tensor(inputs) if isinstance(inputs, np.ndarray) else inputs
        self.model = model
        self._last_sample = None

    def _record(self, action: Any) -> Any:
        """Remember ``action`` for ``sampled_action_logp()`` and return it unchanged."""
        self._last_sample = action
        return action

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any) -> int:
        """The model output width (num_outputs) this distribution needs for ``action_space``."""
        raise NotImplementedError(
            "an ActionDistribution subclass must define the static method "
            "required_model_output_shape(action_space, model_config) returning num_outputs"
        )

    def _missing(self, method: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__}.{method}() is not implemented; "
            f"define it in {type(self).__name__} to use it"
        )

    def sample(self) -> Any:
        """Draw one action per row: [B, ...]."""
        raise self._missing("sample")

    def deterministic_sample(self) -> Any:
        """The most likely (or mean) action per row: [B, ...]."""
        raise self._missing("deterministic_sample")

    def logp(self, actions: Any) -> torch.Tensor:
        """Log-probability of ``actions: [B, ...]``, returns [B]."""
        raise self._missing("logp")

    def entropy(self) -> torch.Tensor:
        """Entropy per row, returns [B]."""
        raise self._missing("entropy")

    def kl(self, other: ActionDistribution) -> torch.Tensor:
        """KL(self || other) per row, returns [B]."""
        raise self._missing("kl")

    def sampled_action_logp(self) -> torch.Tensor:
        """``logp`` of the action last returned by sample() or deterministic_sample(): [B]."""
        last = getattr(self, "_last_sample", None)
        if last is None:
            raise RuntimeError(
                f"{type(self).__name__}.sampled_action_logp() needs an action: call sample() or "
                "deterministic_sample() first, and end them with `return self._record(action)`"
            )
        return self.logp(last)

    def __repr__(self) -> str:
        shape = list(getattr(self.inputs, "shape", []))
        return f"{type(self).__name__}(inputs: {shape})"


@dataclass(frozen=True, eq=False)
class DistSpec:
    """A distribution class and the keyword arguments it is built with.

    The catalog hands one out where a class needs more than ``(inputs, model)``:
    MultiCategorical's ``input_lens``, SquashedGaussian's and Beta's bounds,
    MultiActionDistribution's children. Call it as you would call the class.

    Example:
        >>> spec = DistSpec(MultiCategorical, {"input_lens": [2, 3]})
        >>> dist = spec(torch.zeros(4, 5))   # MultiCategorical(inputs, None, input_lens=[2, 3])
    """

    cls: type
    kwargs: dict = field(default_factory=dict)

    def __call__(self, inputs: Any, model: Any = None) -> ActionDistribution:
        """Build the distribution over ``inputs: [B, num_outputs]``."""
        return self.cls(inputs, model, **self.kwargs)

    @property
    def __name__(self) -> str:  # so that error messages can name a spec like a class
        return self.cls.__name__


def dist_class_of(dist: Any) -> type:
    """The class behind a distribution class or a ``DistSpec``."""
    return dist.cls if isinstance(dist, DistSpec) else dist


# -- shared checks ---------------------------------------------------------------------------
def _as_inputs(inputs: Any, name: str) -> torch.Tensor:
    """Model outputs as a float tensor [B, num_outputs], or an error that says how to fix them."""
    inputs = torch.as_tensor(inputs)
    if not inputs.is_floating_point():
        inputs = inputs.float()
    if inputs.dim() != 2:
        raise ValueError(
            f"{name} expects inputs of shape [B, num_outputs]; got shape "
            f"{list(inputs.shape)}. A single row needs a batch axis: inputs[None]"
        )
    return inputs


def _halves(inputs: torch.Tensor, name: str, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Split [B, 2A] into two [B, A] halves (e.g. mean and log std)."""
    if inputs.shape[1] % 2:
        raise ValueError(
            f"{name} reads its inputs as [{what}] halves, so num_outputs must be "
            f"even (2 per action dim); got {inputs.shape[1]}"
        )
    first, second = inputs.chunk(2, dim=1)  # [B, 2A] -> 2 x [B, A]
    return first, second


def _as_box_actions(actions: Any, like: torch.Tensor, name: str) -> torch.Tensor:
    """Box actions [B, *shape] as [B, A] in the dtype and device of ``like: [B, A]``."""
    actions = torch.as_tensor(actions, dtype=like.dtype, device=like.device)
    actions = actions.reshape(actions.shape[0], -1) if actions.dim() else actions  # [B, A]
    if actions.shape != like.shape:
        raise ValueError(
            f"{name}.logp got actions of shape {list(actions.shape)} (flattened); "
            f"this distribution has {list(like.shape)}, i.e. [B, action dims]"
        )
    return actions


def _bounds(low: Any, high: Any, like: torch.Tensor, name: str):
    """low/high (scalars or arrays) as tensors [A] or [1] that broadcast against [B, A]."""
    low = torch.as_tensor(low, dtype=like.dtype, device=like.device).reshape(-1)
    high = torch.as_tensor(high, dtype=like.dtype, device=like.device).reshape(-1)
    width = like.shape[1]
    for bound, label in ((low, "low"), (high, "high")):
        if bound.numel() not in (1, width):
            raise ValueError(
                f"{name} got {label} with {bound.numel()} values for {width} action "
                "dims; pass a scalar or one value per action dim"
            )
    if not (torch.isfinite(low).all() and torch.isfinite(high).all() and (low < high).all()):
        raise ValueError(
            f"{name} needs finite bounds with low < high; got low={low.tolist()}, "
            f"high={high.tolist()}"
        )
    return low, high


def _out_of_range(actions: torch.Tensor, n: int) -> bool:
    """Whether any integer action lies outside [0, n) (one reduction: this runs per minibatch)."""
    low, high = torch.aminmax(actions)
    return int(low) < 0 or int(high) >= n


def _check_kind(self: ActionDistribution, other: Any) -> None:
    if type(other) is not type(self):
        raise TypeError(
            f"{type(self).__name__}.kl needs another {type(self).__name__}; got "
            f"{type(other).__name__}"
        )


def _check_same_bounds(self: Any, other: Any) -> None:
    if not (torch.equal(self.low, other.low) and torch.equal(self.high, other.high)):
        raise ValueError(
            f"{type(self).__name__}.kl compares two distributions over different "
            "bounds (low/high); both must use the same action space"
        )


def _space_error(name: str, takes: str, space: gym.Space) -> ValueError:
    return ValueError(f"{name} takes {takes}; got {space}")


def _float_box(name: str, space: gym.Space, bounded: bool = False) -> int:
    """Check that ``space`` is a float Box (with finite bounds if ``bounded``); return A."""
    takes = "a float Box action space" + (" with finite bounds" if bounded else "")
    if not (isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating)):
        raise _space_error(name, takes, space)
    if bounded and not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
        raise ValueError(
            f"{name} maps actions into [low, high], so it needs a Box with finite "
            f"bounds; got {space}. Use DiagGaussian or give the Box finite bounds"
        )
    return int(np.prod(space.shape))
