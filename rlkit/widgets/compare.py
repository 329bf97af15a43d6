"""Comparing runs honestly: which runs may be pooled, over which steps, and which are twins.

Plain functions (no widgets, no matplotlib) that the curves panel and the sweep dashboard use
to decide what a picture of several runs may claim:

- ``pool_by_config``: only runs whose configs are equal but for the seed form a group ("seeds
  of one config"); a second run with the same seed (an identical rerun) is not a new seed and
  forms a group of its own.
- ``pooled_range``: the steps every member of a group reached (the band is cut there) and
  the steps the longest one reached, so the picture can say so.
- ``identical_runs``: runs whose curves are point for point another run's, so the picture can
  draw them visibly (dashed, offset markers) instead of exactly under the first.

    >>> pool_by_config({"a s0": {"lr": 1, "seed": 0}, "a s1": {"lr": 1, "seed": 1},
    ...                 "b": {"lr": 2, "seed": 0}})
    {'a s0': ['a s0', 'a s1'], 'b': ['b']}
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

_SEED_TEXT = re.compile(r"(,? seed \d+|,? unseeded)(?= \(\d+\)$|$)")


def _config_key(config: Mapping[str, Any]) -> str:
    """The config without its seed, as text that compares equal exactly when configs do."""
    rest = {k: v for k, v in config.items() if k != "seed"}
    return json.dumps(rest, sort_keys=True, default=repr)


def group_name(label: str) -> str:
    """A run's label without its seed: "PPO ..., lr=0.001, seed 1" -> "PPO ..., lr=0.001"."""
    return _SEED_TEXT.sub("", label)


def pool_by_config(configs: Mapping[str, Mapping[str, Any] | None]) -> dict[str, list[str]]:
    """Group runs whose configs are equal but for the seed (name -> run labels, in order).

    Args:
        configs: run label -> its config (with "seed"); None for a run whose config is not
            known, which then stays alone.

    Returns:
        group name -> labels. A group of several runs is named by its first label without the
        seed; a run alone keeps its label. The k-th run of one config with one seed goes to the
        k-th group of that config, so an identical rerun never counts as another seed (runs
        without a seed are all different draws and pool together).
    """
    seen: Counter = Counter()
    keyed: dict[tuple, list[str]] = {}
    for label, config in configs.items():
        if config is None:
            keyed[("alone", label)] = [label]
            continue
        base, seed = _config_key(config), config.get("seed")
        seen[(base, seed)] += 1
        keyed.setdefault((base, 1 if seed is None else seen[(base, seed)]), []).append(label)
    groups: dict[str, list[str]] = {}
    for members in keyed.values():
        name = group_name(members[0]) if len(members) > 1 else members[0]
        if name in groups:  # a rerun's group: named by its first member's label
            name = members[0]
        while name in groups:
            name += " ·"
        groups[name] = members
    return groups


def last_step(results: Sequence[Mapping[str, Any]]) -> int:
    """The env steps a run has reached (0 before its first result)."""
    return int(results[-1]["timesteps_total"]) if results else 0


def pooled_range(runs: Mapping[str, Sequence[Mapping]], members: Sequence[str]) -> tuple[int, int]:
    """(steps every member reached, steps the longest member reached)."""
    ends = [last_step(runs.get(m, ())) for m in members]
    return (min(ends), max(ends)) if ends else (0, 0)


def pooled_text(runs: Mapping[str, Sequence[Mapping]], members: Sequence[str]) -> str:
    """What a mean-and-band line claims, in words.

    Example: "mean of 3 seeds, band min..max, over the 20,480 steps all reached (longest run:
    445,440)".
    """
    common, longest = pooled_range(runs, members)
    text = f"mean of {len(members)} seeds, band min..max, over the {common:,} steps all reached"
    return text + (f" (longest run: {longest:,})" if longest > common else "")


def _curve(results: Sequence[Mapping[str, Any]]) -> tuple:
    return tuple(
        (r.get("timesteps_total"), r.get("episode_reward_mean"), r.get("training_iteration"))
        for r in results
    )


def identical_runs(runs: Mapping[str, Sequence[Mapping]], names: Sequence[str]) -> dict[str, str]:
    """Runs whose results are point for point an earlier run's: later name -> first name.

    Args:
        runs: label -> results.
        names: the labels to compare, in drawing order.
    """
    first: dict[tuple, str] = {}
    twins: dict[str, str] = {}
    for name in names:
        curve = _curve(runs.get(name, ()))
        if not curve:
            continue
        if curve in first:
            twins[name] = first[curve]
        else:
            first[curve] = name
    return twins


def env_of(config: Mapping[str, Any] | None) -> str:
    """The env a run trained on, in words ("" when unknown)."""
    if not config or config.get("env") is None:
        return ""
    from rlkit.envs import env_label

    return env_label(config["env"])
