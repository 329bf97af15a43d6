"""The trainer classes by name: what ``algorithm_keys("PPO")`` and docs/CONFIG.md read.

rlkit.algorithms registers its classes here when it is imported (the tables cannot import
the algorithms: the algorithms import the tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALGORITHMS: dict[str, type] = {}


def register_algorithms(algorithms: Mapping[str, type]) -> None:
    """Make ``algorithms`` ({"PPO": PPO, ...}) known to algorithm_keys and the docs."""
    ALGORITHMS.update(algorithms)


def algorithm_keys(name: str) -> dict[str, Any]:
    """Every key of algorithm ``name`` ("PPO", ...), common keys included, by name."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm '{name}'; rlkit has {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name].config_keys()
