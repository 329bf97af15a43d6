"""RLlib's small torch helpers under their RLlib names (``ray.rllib.utils.torch_utils``).

``FLOAT_MIN`` / ``FLOAT_MAX`` are the float32 extremes RLlib's parametric-action models use to
mask logits: ``logits + torch.clamp(torch.log(mask), min=FLOAT_MIN)`` leaves available actions
unchanged and makes masked ones impossible without producing ``-inf`` (whose gradient is NaN).

Example:
    >>> mask = torch.tensor([[1.0, 0.0]])
    >>> torch.clamp(torch.log(mask), min=FLOAT_MIN).tolist() == [[0.0, FLOAT_MIN]]
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

FLOAT_MIN = float(torch.finfo(torch.float32).min)  # -3.4028e38
FLOAT_MAX = float(torch.finfo(torch.float32).max)  # 3.4028e38


def try_import_torch() -> tuple[Any, Any]:
    """Return the torch module and ``torch.nn``, as RLlib's helper of the same name does.

    RLlib code reads ``torch, nn = try_import_torch()``; rlkit always has torch, so this
    never returns None.
    """
    return torch, torch.nn


def override(parent: type) -> Callable:
    """RLlib's ``@override(Parent)`` marker: checks the method exists on ``parent``."""

    def check(method: Callable) -> Callable:
        if not hasattr(parent, method.__name__):
            raise NameError(
                f"@override({parent.__name__}) on {method.__name__}: {parent.__name__} has no "
                f"method '{method.__name__}' to override; check the spelling"
            )
        return method

    return check
