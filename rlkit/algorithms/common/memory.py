"""What a config will need in memory, estimated at build and checked against what is free.

A config that cannot fit is refused when the trainer is built, before anything large is
allocated, with the key, the estimate and the limit, in place of a bare ``MemoryError`` (or a
swap storm) minutes into ``train()``. The estimate is a floor: it counts the big arrays only.

=====================  =====================================================================
part (config key)      bytes counted
=====================  =====================================================================
env copies             ``num_envs`` x (8 KB per env in ``sync``/``vector`` mode, 50 MB per
(``num_envs``)         worker process in ``async`` mode) + 4 observations per env
rollout buffers        ``num_envs`` x ``rollout_fragment_length`` x (2 float32 observations +
(``rollout_fragment_   64 bytes of other columns), x 2 (the batch and its tensors)
length``)
replay buffer          ``buffer_size`` x (2 stored observations + 17 bytes) (DQN)
(``buffer_size``)
model parameters       weights x 4 bytes x 5 (weights, gradients, Adam's two moments, the
(``fcnet_hiddens``)    snapshot kept for rollback); the value branch again unless
                       ``vf_share_layers``; built-in fully connected models only
=====================  =====================================================================

The limit is the memory available to this process: ``MemAvailable`` (/proc/meminfo), or the
cgroup's limit minus its use when that is lower (a container, a class server's per-user
slice), or psutil's figure elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.envs import env_label, make_vec_env
from rlkit.spaces import MAX_SPACE_DEPTH, SpaceNestingError, check_space_depth

ENV_BYTES = {"sync": 8 * 2**10, "vector": 8 * 2**10, "auto": 8 * 2**10, "async": 50 * 2**20}
OTHER_COLUMN_BYTES = 64  # actions, rewards, flags, logp, values, advantages, ids per step
OPTIMISER_COPIES = 5  # weights, gradients, Adam's 2 moments, the rollback snapshot


class ConfigMemoryError(ValueError):
    """A config that needs more memory than this machine has free (raised at build)."""


def available_memory() -> tuple[int, str]:
    """(bytes this process can still allocate, where the figure comes from)."""
    figures = []
    meminfo = _read_meminfo()
    if meminfo is not None:
        figures.append((meminfo, "MemAvailable in /proc/meminfo"))
    cgroup = _cgroup_free()
    if cgroup is not None:
        figures.append(cgroup)
    if not figures:
        import psutil

        figures.append((int(psutil.virtual_memory().available), "psutil's available memory"))
    return min(figures)


def _read_meminfo() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _cgroup_free() -> tuple[int, str] | None:
    """(limit - usage, source) of this process's cgroup (v2, then v1), None without a limit."""
    pairs = [
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "cgroup v2 memory.max"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
            "cgroup v1 memory.limit_in_bytes",
        ),
    ]
    for limit_path, usage_path, source in pairs:
        try:
            with open(limit_path) as f:
                limit = f.read().strip()
            with open(usage_path) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or int(limit) >= 2**60:
            return None
        return max(int(limit) - usage, 0), f"{source} minus use"
    return None


def human(n: float) -> str:
    """Bytes as ``1.46 TiB`` / ``312.0 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} PiB"


def _space_bytes(space: gym.Space, itemsize: int | None = None) -> int:
    """Bytes of one flattened observation (``itemsize`` None: the space's own dtype)."""
    size = gym.spaces.flatdim(space)
    if itemsize is None:
        dtype = getattr(space, "dtype", None)
        itemsize = np.dtype(dtype).itemsize if dtype is not None else 4
    return int(size) * itemsize


def _mlp_weights(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def model_bytes(config: Mapping[str, Any], obs_space: gym.Space, num_outputs: int) -> int:
    """Parameters (and optimiser copies) of the built-in fully connected model; 0 otherwise."""
    model = config.get("model") or {}
    shape = getattr(obs_space, "shape", None)
    if model.get("custom_model") or (shape is not None and len(shape) == 3):
        return 0  # a custom model, or a vision network (small, convolutional)
    hiddens = [
        int(w)
        for w in list(model.get("fcnet_hiddens") or [])
        + list(model.get("post_fcnet_hiddens") or [])
    ]
    sizes = [gym.spaces.flatdim(obs_space), *hiddens]
    weights = _mlp_weights([*sizes, max(num_outputs, 1)])
    if not model.get("vf_share_layers", False):
        weights += _mlp_weights([*sizes, 1])
    return weights * 4 * OPTIMISER_COPIES


def estimate(
    config: Mapping[str, Any], obs_space: gym.Space, num_outputs: int
) -> dict[str, tuple[int, tuple[str, ...], str]]:
    """{part: (estimated bytes, the config keys that size it, what it holds)}.

    Parts: ``envs``, ``rollout``, ``model`` and (DQN) ``replay``, as the module's table says.
    """
    num_envs = int(config.get("num_envs") or 1)
    steps = int(config.get("rollout_fragment_length") or 1)
    obs_float = _space_bytes(obs_space, 4)
    mode = config.get("vector_mode", "auto")
    parts = {
        "envs": (
            num_envs * (ENV_BYTES.get(mode, ENV_BYTES["sync"]) + 4 * obs_float),
            ("num_envs",),
            f"{num_envs:,} env copies ({mode} mode)",
        ),
        "rollout": (
            num_envs * steps * (2 * obs_float + OTHER_COLUMN_BYTES) * 2,
            ("num_envs", "rollout_fragment_length"),
            f"rollout buffers of {num_envs:,} envs x {steps:,} steps",
        ),
        "model": (
            model_bytes(config, obs_space, num_outputs),
            ("fcnet_hiddens",),
            "model parameters and optimiser state",
        ),
    }
    if "buffer_size" in config:
        size = int(config["buffer_size"])
        parts["replay"] = (
            size * (2 * _space_bytes(obs_space) + 17),
            ("buffer_size",),
            f"replay buffer of {size:,} transitions",
        )
    return parts


def _value(config: Mapping[str, Any], key: str) -> Any:
    return (config.get("model") or {}).get(key) if key == "fcnet_hiddens" else config.get(key)


def check_memory(config: Mapping[str, Any], obs_space: gym.Space, num_outputs: int) -> None:
    """Refuse (``ConfigMemoryError``) a config whose estimate exceeds the available memory.

    Args:
        config: the trainer's full config.
        obs_space: one env's observation space (what the sampler delivers).
        num_outputs: the model's outputs (the action distribution's inputs).
    """
    parts = estimate(config, obs_space, num_outputs)
    total = sum(b for b, _, _ in parts.values())
    free, source = available_memory()
    if total <= free:
        return
    worst, keys, what = max(parts.values(), key=lambda part: part[0])
    # The key furthest above its default is the one to lower (num_envs or the fragment).
    key = max(keys, key=lambda k: _excess(config, k))
    named = " and ".join(f"'{k}' = {_value(config, k)!r}" for k in keys)
    listed = "; ".join(f"{name}: {human(b)}" for name, (b, _, _) in parts.items() if b)
    share = free / max(total, 1)
    raise ConfigMemoryError(
        f"config key{'s' if len(keys) > 1 else ''} {named} need{'' if len(keys) > 1 else 's'} "
        f"an estimated {human(worst)} ({what}); the whole config {human(total)} ({listed}); "
        f"but only {human(free)} is available ({source}). Lower '{key}' (about "
        f"{_fit(_value(config, key), share)} would fit) or free memory; "
        "rlkit.algorithms.common.memory lists what is counted."
    )


_TYPICAL = {"num_envs": 8, "rollout_fragment_length": 128}


def _excess(config: Mapping[str, Any], key: str) -> float:
    try:
        return float(_value(config, key)) / _TYPICAL.get(key, 1)
    except (TypeError, ValueError):
        return 0.0


def _fit(value: Any, scale: float) -> str:
    """A smaller value of the key that would roughly fit."""
    if isinstance(value, (list, tuple)):  # widths: weights grow with width squared
        return repr([max(1, int(w * math.sqrt(scale))) for w in value])
    try:
        return f"{max(1, int(int(value) * scale)):,}"
    except (TypeError, ValueError):
        return "a smaller value"


def make_checked_vec_env(env: Any, config: Mapping[str, Any]) -> gym.vector.VectorEnv:
    """``make_vec_env`` for a trainer, after the memory check that needs no env.

    Before any env exists the estimate uses a one-number observation (a floor: it catches
    ``num_envs``, ``rollout_fragment_length`` or ``buffer_size`` far beyond the machine); a
    space nested too deeply for gymnasium's recursive batching is a ``SpaceNestingError``.
    """
    check_memory(config, gym.spaces.Box(0.0, 1.0, (1,)), 1)
    try:
        return make_vec_env(
            env, config["num_envs"], config["env_config"], config["vector_mode"], config=config
        )
    except RecursionError:  # gymnasium batches nested spaces recursively
        raise SpaceNestingError(
            f"building the vector env of '{env_label(env)}' exceeded Python's recursion limit: "
            "its observation or action space is nested too deeply; rlkit takes up to "
            f"{MAX_SPACE_DEPTH} Dict/Tuple levels (rlkit.spaces.MAX_SPACE_DEPTH): flatten the "
            "inner levels into one Dict with compound keys (e.g. 'a/b/c') or a Box"
        ) from None


def check_built_spaces(config: Mapping[str, Any], vec_env: gym.vector.VectorEnv) -> None:
    """The checks that need the real spaces: nesting depth, then memory (before the model)."""
    check_space_depth(vec_env.single_observation_space, "observation space")
    check_space_depth(vec_env.single_action_space, "action space")
    outputs = 2 * gym.spaces.flatdim(vec_env.single_action_space)
    check_memory(config, vec_env.single_observation_space, outputs)
