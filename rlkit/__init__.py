"""rlkit: the parts of a reinforcement-learning agent, one swappable piece at a time.

Environment -> Preprocessor -> Filter -> Model -> ActionDistribution -> action, on PyTorch and
gymnasium, with RLlib's public names. ``import rlkit`` is cheap: the heavy modules load on
first use of the names below.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ModelCatalog": "rlkit.catalog",
    "MODEL_DEFAULTS": "rlkit.utils.config",
    "register_env": "rlkit.envs",
    "Policy": "rlkit.policy",
    "record_episode": "rlkit.records.video",
}

# Modules that moved when the tree was arranged by floors (docs/DESIGN.md): the old path
# imports the module at its new home (the same module object, so pickles and
# ``monkeypatch`` see one module).
MOVED = {
    "rlkit.config": "rlkit.utils.config",
    "rlkit.seeding": "rlkit.utils.seeding",
    "rlkit.threads": "rlkit.utils.threads",
    "rlkit.guards": "rlkit.utils.guards",
    "rlkit.torch_utils": "rlkit.utils.torch_utils",
    "rlkit.offline_rllib": "rlkit.offline.rllib_lines",
    "rlkit.algorithms.learner": "rlkit.engines.learner",
    "rlkit.algorithms.keys": "rlkit.algorithms.config.keys",
    "rlkit.algorithms.rllib_keys": "rlkit.algorithms.config.rllib_keys",
    "rlkit.algorithms.checking": "rlkit.algorithms.config.checking",
    "rlkit.algorithms.config_docs": "rlkit.algorithms.config.docs",
    "rlkit.engines.numpy_engine": "rlkit.engines.numpy.engine",
    "rlkit.engines.numpy_loss": "rlkit.engines.numpy.loss",
    "rlkit.engines.numpy_mlp": "rlkit.engines.numpy.mlp",
    **{
        f"rlkit.algorithms.{name}": f"rlkit.algorithms.common.{name}"
        for name in (
            "acting",
            "building",
            "checkpoint",
            "evaluation",
            "hooks",
            "memory",
            "results",
            "rllib_api",
            "snapshot",
        )
    },
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import rlkit.<old path>`` of a module in ``MOVED``: the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        """Nothing to run: the module ran at its new path."""


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())

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
