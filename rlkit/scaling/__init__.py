"""Scaling out on Ray: remote env runners, Tune sweeps and a local test cluster.

Ray is optional (``pip install "rlkit[ray]"``). Nothing here imports ``ray`` until a feature
that needs it is used, so ``import rlkit`` stays light; without Ray, those features raise an
ImportError that names the install command.

    EnvRunnerGroup      num_env_runners > 0: N Ray actors, each a Policy copy + a Sampler
    rlkit_trainable     an rlkit trainer as a Ray Tune trainable
    run_sweep           a grid of config changes x seeds, every trial's results
    init_local_ray      ray.init on this machine, bound to 127.0.0.1, quiet
    LocalCluster        a head + worker nodes on this machine (tests, benchmarks, a class),
                        every process asked for the cluster's token
    connect             join a cluster someone else started here, with its token
"""

from __future__ import annotations

import importlib
from typing import Any

INSTALL_HINT = 'pip install "rlkit[ray]"'

_LAZY = {
    "EnvRunner": "rlkit.scaling.runners",
    "EnvRunnerGroup": "rlkit.scaling.runners",
    "rlkit_trainable": "rlkit.scaling.sweeps",
    "run_sweep": "rlkit.scaling.sweeps",
    "init_local_ray": "rlkit.scaling.cluster",
    "LocalCluster": "rlkit.scaling.cluster",
    "connect": "rlkit.scaling.cluster",
}

__all__ = ["INSTALL_HINT", "require_ray", *_LAZY]


def require_ray(feature: str) -> Any:
    """Import and return ``ray``, or raise an ImportError naming ``feature`` and the install."""
    try:
        return importlib.import_module("ray")
    except ImportError as err:
        raise ImportError(
            f"{feature} runs on Ray, which is not installed; install it with {INSTALL_HINT} "
            f"(or set num_env_runners to 0 to sample in this process)"
        ) from err


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rlkit.scaling' has no attribute '{name}'")
