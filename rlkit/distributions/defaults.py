"""Choosing a distribution for a space: the defaults, the built-ins by name, readable names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.distributions.base import ActionDistribution, DistSpec
from rlkit.distributions.categorical import Categorical
from rlkit.distributions.continuous import Beta, Deterministic, DiagGaussian, SquashedGaussian
from rlkit.distributions.multi import default_dist
from rlkit.utils.config import suggest


def get_dist_class_for_space(
    action_space: gym.Space, model_config: Mapping[str, Any] | None = None
) -> tuple[Any, int]:
    """The default distribution for ``action_space`` and the model output width it needs.

    Discrete -> Categorical; MultiDiscrete -> MultiCategorical; float Box -> DiagGaussian;
    integer Box -> MultiCategorical (one Categorical per element over low..high, as RLlib);
    Tuple / Dict -> MultiActionDistribution over the leaves' defaults. Classes
    that need extra arguments come back as a ``DistSpec``; call either as
    ``dist_class(inputs, model)``, and name either with ``dist_name``.

    Args:
        action_space: the env's action space.
        model_config: the model config (the defaults do not depend on it).

    Returns:
        (dist_class, num_outputs).

    Raises:
        ValueError: a space with no default (MultiBinary, Text, ...), naming it.
    """
    return default_dist(action_space, "action_space")


def dist_name(dist_class: Any) -> str:
    """A readable name: "Categorical", "MultiActionDistribution(Categorical, DiagGaussian)"."""
    if isinstance(dist_class, DistSpec):
        children = dist_class.kwargs.get("child_distributions")
        if children is not None:
            return f"{dist_name(dist_class.cls)}({', '.join(map(dist_name, children))})"
        return dist_name(dist_class.cls)
    return getattr(dist_class, "__name__", type(dist_class).__name__)


BUILTIN_DISTRIBUTIONS: dict[str, type[ActionDistribution]] = {
    "Categorical": Categorical,
    "DiagGaussian": DiagGaussian,
    "SquashedGaussian": SquashedGaussian,
    "Beta": Beta,
    "Deterministic": Deterministic,
}


def make_builtin_dist(
    name: str, action_space: gym.Space, model_config: Mapping[str, Any] | None = None
) -> tuple[Any, int]:
    """A built-in distribution named in config (``custom_action_dist: "Beta"``) for a space.

    SquashedGaussian and Beta get the Box's low/high bound in (a ``DistSpec``).

    Returns:
        (dist_class, num_outputs).

    Raises:
        ValueError: an unknown name (with the closest one), or a name that does not fit the
            space (saying which spaces it takes).
    """
    if name not in BUILTIN_DISTRIBUTIONS:
        raise ValueError(
            f"unknown built-in action distribution '{name}'"
            f"{suggest(str(name), BUILTIN_DISTRIBUTIONS)}; built-ins are "
            f"{', '.join(BUILTIN_DISTRIBUTIONS)}"
        )
    dist_class = BUILTIN_DISTRIBUTIONS[name]
    try:
        num_outputs = dist_class.required_model_output_shape(action_space, model_config)
    except ValueError as err:
        try:
            default = dist_name(default_dist(action_space, "action_space")[0])
            hint = f"; the default for {action_space} is {default}"
        except ValueError:
            hint = ""
        raise ValueError(f"{err}{hint}") from None
    if dist_class in (SquashedGaussian, Beta):
        low = action_space.low.reshape(-1).astype(np.float32)  # [*shape] -> [A]
        high = action_space.high.reshape(-1).astype(np.float32)
        dist_class = DistSpec(dist_class, {"low": low, "high": high})
    return dist_class, num_outputs
