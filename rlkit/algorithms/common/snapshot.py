"""All or nothing: a trainer's learning state captured, and put back when a step fails.

``Algorithm.train()`` takes a snapshot before each iteration and rolls back to it when the
iteration raises (a refused non-finite step, an env error, a KeyboardInterrupt in the middle of
PPO's minibatch epochs), so an iteration's update applies whole or not at all. ``restore()``
uses the same pair: it applies a checkpoint section by section and rolls back if any fails.

What a snapshot holds: the model's parameters and buffers, the optimizer's state, the
algorithm's ``extra_state()`` (DQN's target network and counters, BC's rows trained), the
observation filter's statistics, the counters and the trainer's RNG state. Tensors are cloned,
so the snapshot costs one copy of the model and of Adam's two moments (for rlkit's small
networks, tens of microseconds: copied in place into buffers kept between iterations).
"""

from __future__ import annotations

import math
from typing import Any

import torch


def clone_tree(x: Any) -> Any:
    """A copy of nested dicts / lists / tuples in which every tensor is cloned."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, dict):
        return {k: clone_tree(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(clone_tree(v) for v in x)
    return x


def _tensor_leaves(tree: Any) -> list[torch.Tensor]:
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in _tensor_leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in _tensor_leaves(v)]
    return []


def take_snapshot(trainer: Any) -> dict[str, Any]:
    """Everything an iteration may change, copied (see the module docstring).

    The live tensors (parameters, buffers, Adam's moments, a target network) are copied into
    buffers the trainer keeps from one iteration to the next, in one ``_foreach_copy_``: no
    allocation after the first iteration, so a snapshot costs one memcpy of the weights.
    """
    model = [*trainer.model.parameters(), *trainer.model.buffers()]
    optim_state = {id(p): state for p, state in trainer.optimizer.state.items()}
    extra = trainer.extra_state()
    live = [t.detach() for t in _tensor_leaves([model, list(optim_state.values()), extra])]
    key = [(t.data_ptr(), t.shape, t.dtype, t.device) for t in live]
    cache = trainer.__dict__.get("_snapshot_cache")
    if cache is not None and cache[0] == key:
        copies = cache[1]
        if copies:
            torch._foreach_copy_(copies, live)
    else:
        copies = [t.clone() for t in live]
        trainer._snapshot_cache = (key, copies)
    sampler = trainer.sampler
    return {
        "live": live,
        "copies": copies,
        "optimizer_params": set(optim_state),
        "param_groups": [dict(g, params=None) for g in trainer.optimizer.param_groups],
        "extra": extra,
        "filter": trainer.policy.filter.get_state(),
        "iteration": trainer.iteration,
        "timesteps_total": trainer.timesteps_total,
        "time_total_s": trainer.time_total_s,
        "rng": trainer._rng_state.clone(),
        "episodes_total": sampler.episodes_total,
        "episode_returns": list(sampler.episode_returns),
        "episode_lengths": list(sampler.episode_lengths),
    }


def roll_back(trainer: Any, snap: dict[str, Any]) -> None:
    """Put ``trainer`` back as ``take_snapshot`` found it (after a failed iteration).

    The envs cannot be rewound (a simulator has no snapshot): the sampler starts fresh
    episodes at the next ``sample()``, as after any interrupted rollout.
    """
    if snap["copies"]:
        torch._foreach_copy_(snap["live"], snap["copies"])
    optimizer = trainer.optimizer
    for p in [p for p in optimizer.state if id(p) not in snap["optimizer_params"]]:
        del optimizer.state[p]  # state the failed iteration's first step created
    for group, saved in zip(optimizer.param_groups, snap["param_groups"]):
        group.update({k: v for k, v in saved.items() if k != "params"})
    trainer.set_extra_state(snap["extra"])  # its tensors are restored in place: scalars
    trainer.policy.filter.set_state(snap["filter"])
    trainer.iteration = snap["iteration"]
    trainer.timesteps_total = snap["timesteps_total"]
    trainer.time_total_s = snap["time_total_s"]
    trainer._rng_state = snap["rng"]
    sampler = trainer.sampler
    sampler.episodes_total = snap["episodes_total"]
    sampler.episode_returns.clear()
    sampler.episode_returns.extend(snap["episode_returns"])
    sampler.episode_lengths.clear()
    sampler.episode_lengths.extend(snap["episode_lengths"])
    sampler._broken = True
    trainer._sync_weights()


def copy_state(trainer: Any) -> dict[str, Any]:
    """A full copy (new tensors) of what ``restore()`` replaces, for ``put_state``.

    A restore swaps whole tensors (Adam's state), which the in-place snapshot cannot follow.
    """
    return {
        "model": clone_tree(trainer.model.state_dict()),
        "optimizer": clone_tree(trainer.optimizer.state_dict()),
        "extra": clone_tree(trainer.extra_state()),
        "filter": trainer.policy.filter.get_state(),
        "counters": (trainer.iteration, trainer.timesteps_total, trainer.time_total_s),
    }


def put_state(trainer: Any, state: dict[str, Any]) -> None:
    """Undo a partly applied restore with ``copy_state``'s copy."""
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.set_extra_state(state["extra"])
    trainer.policy.filter.set_state(state["filter"])
    trainer.iteration, trainer.timesteps_total, trainer.time_total_s = state["counters"]
    trainer._sync_weights()


def nonfinite_tensors(tree: Any, prefix: str = "") -> list[str]:
    """Names (dotted paths) of the floating-point tensors in ``tree`` holding NaN or inf."""
    if isinstance(tree, torch.Tensor):
        bad = tree.is_floating_point() and not bool(tree.isfinite().all())
        return [prefix or "tensor"] if bad else []
    if isinstance(tree, float):
        return [] if math.isfinite(tree) else [prefix or "value"]
    items = (
        tree.items()
        if isinstance(tree, dict)
        else enumerate(tree)
        if isinstance(tree, (list, tuple))
        else []
    )
    out: list[str] = []
    for k, v in items:
        out += nonfinite_tensors(v, f"{prefix}.{k}" if prefix else str(k))
    return out
