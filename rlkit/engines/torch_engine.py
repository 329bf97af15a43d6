"""The torch engine: the model's own forward, the distribution classes, the loss, autograd.

This is the reference: it runs every model, distribution and algorithm exactly as written,
so a breakpoint in ``FullyConnectedNetwork.forward``, ``Categorical.logp`` or ``PPO.loss``
stops here (``config={"engine": "torch"}`` makes it run everywhere). The numpy engine
(rlkit.engines.numpy_engine) computes the same numbers for the built-in MLP.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

VALUE_CHUNK = 1024  # rows per forward in values(), at most...
# ...and at most this much float32 model input per forward: 74 rows of 84x84x4 frames. A
# 1,024-row forward of Atari frames raised the process's peak memory by 450 MB; chunks of
# 32 MB still left it 90 MB above 8 MB chunks (benchmarks/README.md, Atari memory).
VALUE_CHUNK_BYTES = 8 << 20


def trim_heap() -> None:
    """Hand the C heap's free memory back to the OS (glibc's ``malloc_trim``; elsewhere no-op).

    glibc keeps freed blocks under 32 MB for reuse, so a pass over many large tensors leaves
    the process hundreds of MB above what it uses: an Atari PPO run peaked at 876 MB without
    a trim after its value pass and 743 MB with one, at the same CPU time.
    """
    if _LIBC.get("trim") is None:
        try:
            _LIBC["trim"] = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
            _LIBC["trim"] = False
    if _LIBC["trim"]:
        _LIBC["trim"](0)


_LIBC: dict[str, Any] = {}


class Actions(NamedTuple):
    """What an engine computes for a batch of B filtered observations."""

    actions: np.ndarray  # learner layout (rlkit.policy's module docstring), [B, ...]
    logp: np.ndarray  # [B] float32
    dist_inputs: np.ndarray  # [B, num_outputs]
    values: np.ndarray | None  # [B] float32 (when asked for)
    state_out: list  # recurrent state, list of [B, ...] tensors ([] for feed-forward)


class TorchEngine:
    """Runs the policy's model and the learner's step through torch.

    Args:
        reason: why this engine was chosen, in words (train() results report it).
    """

    name = "torch"

    def __init__(self, reason: str):
        self.reason = reason

    def actions(
        self,
        policy: Any,
        obs: np.ndarray,
        state: list,
        prev: tuple[Any, Any],
        explore: bool,
        with_value: bool,
        choose: Callable | None = None,
    ) -> Actions:
        """Actions for filtered obs, as Policy.compute_actions returns them.

        Args:
            policy: the Policy whose model and distribution run.
            obs: [B, *shape] filtered observations.
            state: recurrent state, list of [B, ...] tensors ([] for feed-forward).
            prev: (prev_actions, prev_rewards), each [B, ...] or None.
            explore: sample (True) or take the distribution's deterministic action.
            with_value: also compute the values [B].
            choose: ``choose(model_outputs) -> (actions, logp)`` replaces the distribution.
        """
        with policy.lock, torch.inference_mode():  # a forward and its cached value together
            input_dict = policy.input_dict(obs, *prev)
            seq_lens = torch.ones(len(obs), dtype=torch.long) if state else None
            dist_inputs, state_out = policy.model(input_dict, state, seq_lens)
            if choose is None:
                dist = policy.dist_class(dist_inputs, policy.model)
                actions = dist.sample() if explore else dist.deterministic_sample()
                logp = dist.logp(actions)
            else:
                actions, logp = choose(dist_inputs)
            values = policy.model.value_function().cpu().numpy() if with_value else None
            return Actions(
                policy.flatten_actions(actions).cpu().numpy(),
                logp.cpu().numpy(),
                dist_inputs.cpu().numpy(),
                values,
                state_out,
            )

    def act(self, policy: Any, obs: np.ndarray, explore: bool, rng: Callable | None) -> np.ndarray:
        """Learner-layout actions [B, ...] of a feed-forward model, nothing else.

        Args:
            policy: the Policy whose model and distribution run.
            obs: [B, *shape] filtered observations.
            explore: sample (True) or take the distribution's deterministic action.
            rng: a context manager factory entered around the sampling (a trainer's stream).
        """
        own_rng = rng() if rng is not None else contextlib.nullcontext()
        with own_rng, policy.lock, torch.inference_mode():
            dist_inputs, _ = policy.model(policy.input_dict(obs), [], None)
            dist = policy.dist_class(dist_inputs, policy.model)
            actions = dist.sample() if explore else dist.deterministic_sample()
            return policy.flatten_actions(actions).cpu().numpy()

    def values(self, policy: Any, obs: np.ndarray, prev: tuple[Any, Any]) -> np.ndarray:
        """Values [N] float32 of a feed-forward model, in chunks (VALUE_CHUNK, _BYTES).

        Args:
            policy: the Policy whose model runs.
            obs: [N, *shape] filtered observations.
            prev: (prev_actions, prev_rewards), each [N, ...] or None.
        """
        out = []
        row_bytes = 4 * int(np.prod(obs.shape[1:], dtype=np.int64))
        size = max(1, min(VALUE_CHUNK, VALUE_CHUNK_BYTES // max(row_bytes, 1)))
        with policy.lock, torch.inference_mode():
            for start in range(0, len(obs), size):
                rows = slice(start, start + size)
                chunk = [None if x is None else x[rows] for x in prev]
                policy.model(policy.input_dict(obs[rows], *chunk), [], None)
                out.append(policy.model.value_function().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def step(self, algo: Any, mb: dict[str, Any]) -> dict[str, float]:
        """One gradient step of ``algo`` on minibatch ``mb``: forward, loss, optimise.

        Returns the loss's statistics and "total_loss" (the loss that was optimised).
        """
        # Imported here: rlkit.algorithms (above the engines) imports the whole package.
        from rlkit.algorithms.learner import optimise

        dist, values, loss_inputs = algo.forward(mb)
        total, stats = algo.loss(mb, dist, values)
        params = [p for p in algo.model.parameters() if p.requires_grad]
        stats["total_loss"] = optimise(
            algo.model, algo.optimizer, total, loss_inputs, algo.config["grad_clip"], params
        )
        return stats

    @contextlib.contextmanager
    def pinned(self, policy: Any):
        """A rollout: nothing to fix in place for torch."""
        yield
