"""A trainer's config from the user's: every key checked against the algorithm's table.

The table is rlkit.algorithms.config.keys; RLlib's older names are renamed and its common
keys applied.

Order: aliases -> unknown keys (RLlib advice, the algorithm that has the key, or a close
spelling) -> each value against its Key -> defaults filled in -> settings that involve two
keys (env= and config["env"], num_gpus and device, num_envs_per_env_runner and num_envs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rlkit.algorithms.config.keys import ALGORITHMS, Key, defaults
from rlkit.algorithms.config.rllib_keys import drop_fixed, resolve_aliases, rllib_advice
from rlkit.utils.config import suggest


def unknown_key_error(name: str, keys: Mapping[str, Key], where: str, advice: Mapping) -> Exception:
    """The error for a key not in ``keys``, with the best help there is.

    That is rlkit's advice for a known RLlib key, the algorithm that has the key, or a close
    spelling; never a guess for a key RLlib has.
    """
    tip = advice.get(name) or rllib_advice(name)
    if tip:
        return ValueError(
            f"{where} config key '{name}' is RLlib's and not in rlkit's {where}: {tip}"
        )
    owners = [algo for algo, cls in ALGORITHMS.items() if name in cls.config_keys()]
    if owners:
        return ValueError(
            f"{where} config key '{name}' belongs to {', '.join(owners)}, not to {where}; "
            f"remove it (docs/CONFIG.md lists every algorithm's keys)"
        )
    return ValueError(
        f"unknown key '{name}' in {where} config{suggest(str(name), keys, cutoff=0.75)}; "
        f"valid keys are: {', '.join(sorted(keys))}"
    )


def build_config(
    keys: Mapping[str, Key], where: str, env: Any, config: Mapping | None, advice: Mapping
) -> tuple[Any, dict[str, Any]]:
    """Check a user's config against ``keys``; returns (env, the full config).

    Args:
        keys: the algorithm's table (Algorithm.config_keys()).
        where: the algorithm's name, for messages.
        env: the env= argument (None: take config["env"]).
        config: the user's config.
        advice: the algorithm's own {key: what to do instead} for keys it lacks.

    Raises:
        ValueError: an unknown key, a value of the wrong type or range, or two settings that
            contradict each other (env= and config["env"], num_gpus and device, ...).
    """
    given = drop_fixed(resolve_aliases(dict(config or {}), where))
    for name, value in given.items():
        if name not in keys:
            raise unknown_key_error(name, keys, where, advice)
        keys[name].check(value, where)
    env = _one_env(env, given.get("env"), where)
    full = {**copy.deepcopy(defaults(keys)), **copy.deepcopy(given)}
    # An algorithm's model defaults (e.g. PPO's separate value network) sit under the user's.
    full["model"] = {**keys["model"].default, **dict(given.get("model") or {})}
    full["env"] = env
    if full["rollout_fragment_length"] == "auto":  # RLlib's "auto": as if left out
        full["rollout_fragment_length"] = keys["rollout_fragment_length"].default
    _apply_rllib_resources(full, given, where)
    return env, full


def _one_env(env: Any, config_env: Any, where: str) -> Any:
    if env is None:
        env = config_env
    elif config_env is not None and config_env is not env and config_env != env:
        raise ValueError(
            f"{where} got env={env!r} and config['env']={config_env!r}; they are the same "
            f"setting: give one"
        )
    if env is None:
        raise ValueError(f"{where} needs an env: {where}(env='CartPole-v1', config=...)")
    return env


def _apply_rllib_resources(full: dict[str, Any], given: Mapping, where: str) -> None:
    """num_gpus -> device; num_envs_per_env_runner -> num_envs (per runner, or local)."""
    gpus = given.get("num_gpus")
    if gpus is not None:
        device = "cpu" if gpus == 0 else "cuda"
        chosen = given.get("device", "auto")
        if chosen != "auto" and (chosen == "cpu") != (device == "cpu"):
            raise ValueError(
                f"{where} config sets num_gpus {gpus!r} (device '{device}') and device "
                f"{chosen!r}; they contradict each other: keep one"
            )
        full["device"] = chosen if chosen != "auto" else device
    per_runner = given.get("num_envs_per_env_runner")  # each runner has num_envs envs
    if per_runner is not None:
        if "num_envs" in given and given["num_envs"] != per_runner:
            raise ValueError(
                f"{where} config sets num_envs {given['num_envs']} and num_envs_per_env_runner "
                f"{per_runner}; they are one setting (the envs of each runner, or of this "
                f"process with num_env_runners 0): keep one"
            )
        full["num_envs"] = per_runner
