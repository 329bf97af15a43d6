"""The torch engine: the model's own forward, the distribution classes, the loss, autograd.

This is the reference: it runs every model, distribution and algorithm exactly as written,
so a breakpoint in ``FullyConnectedNetwork.forward``, ``Categorical.logp`` or ``PPO.loss``
stops here (``config={"engine": "torch"}`` makes it run everywhere). The numpy engine
(rlkit.engines.numpy.engine) computes the same numbers for the built-in MLP.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

from rlkit.distributions import ActionDistribution
from rlkit.engines.learner import Learner, torch_step
from rlkit.models import Model
from rlkit.spaces import value_leaves

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


class Acting(NamedTuple):
    """What an engine needs to act: a policy's model, its distribution class and its lock.

    The lock keeps a forward and the value it caches for ``value_function()`` together when
    a notebook acts while a thread trains.
    """

    model: Model
    dist_class: type[ActionDistribution]
    lock: threading.RLock


def model_input(
    model: Model,
    obs: np.ndarray | torch.Tensor,
    prev_actions: Any = None,
    prev_rewards: Any = None,
    is_training: bool = False,
) -> dict[str, Any]:
    """The model's input_dict for filtered obs [N, *shape], on the model's device.

    ``obs`` as batches hold them: float32, or uint8 frames, scaled here (``decode_obs``).
    """
    d: dict[str, Any] = {"obs": model.decode_obs(obs), "is_training": is_training}
    device = d["obs"].device  # decode_obs puts obs on the model's device
    if prev_actions is not None:
        d["prev_actions"] = torch.as_tensor(prev_actions, device=device)
    if prev_rewards is not None:
        d["prev_rewards"] = torch.as_tensor(prev_rewards, dtype=torch.float32, device=device)
    return d


def flatten_actions(actions: Any) -> torch.Tensor:
    """Sampled actions (tensor or nested) -> the learner layout (rlkit.policy's docstring)."""
    if isinstance(actions, torch.Tensor):
        return actions
    if isinstance(actions, dict):
        actions = [actions[k] for k in sorted(actions)]
    leaves = [a.reshape(a.shape[0], -1).float() for a in value_leaves(actions)]
    return torch.cat(leaves, dim=1)  # [B, F]


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
        acting: Acting,
        obs: np.ndarray,
        state: list,
        prev: tuple[Any, Any],
        explore: bool,
        with_value: bool,
        choose: Callable | None = None,
    ) -> Actions:
        """Actions for filtered obs, as Policy.compute_actions returns them.

        Args:
            acting: the policy's model, distribution class and lock.
            obs: [B, *shape] filtered observations.
            state: recurrent state, list of [B, ...] tensors ([] for feed-forward).
            prev: (prev_actions, prev_rewards), each [B, ...] or None.
            explore: sample (True) or take the distribution's deterministic action.
            with_value: also compute the values [B].
            choose: ``choose(model_outputs) -> (actions, logp)`` replaces the distribution.
        """
        model = acting.model
        with acting.lock, torch.inference_mode():  # a forward and its cached value together
            input_dict = model_input(model, obs, *prev)
            seq_lens = torch.ones(len(obs), dtype=torch.long) if state else None
            dist_inputs, state_out = model(input_dict, state, seq_lens)
            if choose is None:
                dist = acting.dist_class(dist_inputs, model)
                actions = dist.sample() if explore else dist.deterministic_sample()
                logp = _sampled_logp(dist, actions)
            else:
                actions, logp = choose(dist_inputs)
            values = model.value_function().cpu().numpy() if with_value else None
            return Actions(
                flatten_actions(actions).cpu().numpy(),
                logp.cpu().numpy(),
                dist_inputs.cpu().numpy(),
                values,
                state_out,
            )

    def act(
        self, acting: Acting, obs: np.ndarray, explore: bool, rng: Callable | None
    ) -> np.ndarray:
        """Learner-layout actions [B, ...] of a feed-forward model, nothing else.

        Args:
            acting: the policy's model, distribution class and lock.
            obs: [B, *shape] filtered observations.
            explore: sample (True) or take the distribution's deterministic action.
            rng: a context manager factory entered around the sampling (a trainer's stream).
        """
        own_rng = rng() if rng is not None else contextlib.nullcontext()
        model = acting.model
        with own_rng, acting.lock, torch.inference_mode():
            dist_inputs, _ = model(model_input(model, obs), [], None)
            dist = acting.dist_class(dist_inputs, model)
            actions = dist.sample() if explore else dist.deterministic_sample()
            return flatten_actions(actions).cpu().numpy()

    def values(self, acting: Acting, obs: np.ndarray, prev: tuple[Any, Any]) -> np.ndarray:
        """Values [N] float32 of a feed-forward model, in chunks (VALUE_CHUNK, _BYTES).

        Args:
            acting: the policy's model, distribution class and lock.
            obs: [N, *shape] filtered observations.
            prev: (prev_actions, prev_rewards), each [N, ...] or None.
        """
        out = []
        row_bytes = 4 * int(np.prod(obs.shape[1:], dtype=np.int64))
        size = max(1, min(VALUE_CHUNK, VALUE_CHUNK_BYTES // max(row_bytes, 1)))
        model = acting.model
        with acting.lock, torch.inference_mode():
            for start in range(0, len(obs), size):
                rows = slice(start, start + size)
                chunk = [None if x is None else x[rows] for x in prev]
                model(model_input(model, obs[rows], *chunk), [], None)
                out.append(model.value_function().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def step(self, learner: Learner, mb: dict[str, Any]) -> dict[str, Any]:
        """One gradient step on minibatch ``mb``: ``learner.loss`` as written, then optimise.

        Returns the loss's statistics and "total_loss" (the loss that was optimised).
        """
        return torch_step(learner, mb)

    @contextlib.contextmanager
    def pinned(self, model: Model):
        """A rollout: nothing to fix in place for torch."""
        yield


def _sampled_logp(dist: Any, actions: Any) -> torch.Tensor:
    """The logp [B] of the actions ``dist`` just handed out.

    ``dist.sampled_action_logp()`` where the class defines its own (RLlib's sampler asks for
    it; Categorical's skips the checks ``logp`` makes of actions it did not draw itself), else
    ``dist.logp(actions)``.
    """
    if type(dist).sampled_action_logp is not ActionDistribution.sampled_action_logp:
        return dist.sampled_action_logp()
    return dist.logp(_logp_actions(dist, actions))


def _logp_actions(dist: Any, actions: Any) -> Any:
    """Actions as ``dist.logp`` takes them, RLlib's way.

    A custom distribution over a Tuple / Dict space gets the flattened ``[B, n]`` tensor;
    MultiActionDistribution the nested actions.
    """
    from rlkit.distributions import MultiActionDistribution

    if isinstance(actions, torch.Tensor) or isinstance(dist, MultiActionDistribution):
        return actions
    return flatten_actions(actions)
