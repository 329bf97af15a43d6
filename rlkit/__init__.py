"""rlkit: the parts of a reinforcement-learning agent, one swappable piece at a time.

Environment -> Preprocessor -> Filter -> Model -> ActionDistribution -> action, on PyTorch and
gymnasium, with RLlib's public names. ``import rlkit`` is cheap: the heavy modules load on
first use of the names below.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ModelCatalog": "rlkit.catalog",
    "MODEL_DEFAULTS": "rlkit.config",
    "register_env": "rlkit.envs",
    "Policy": "rlkit.policy",
    "record_episode": "rlkit.records.video",
}

__all__ = [
    "ModelCatalog",
    "MODEL_DEFAULTS",
    "register_env",
    "Policy",
    "record_episode",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rlkit' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
