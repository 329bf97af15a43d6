"""The numpy engine: the built-in MLP, its distribution and PPO's / A2C's loss, by hand.

For the small networks of RL, torch spends far longer dispatching operators (and autograd
recording them) than the arithmetic takes. This engine computes the same numbers with numpy
on the model's own parameter tensors: rollouts (``NumpyMLP.forward`` and the distribution's
sampling), values, and the learner's step (forward, the loss twin of rlkit.engines.numpy.loss
and its gradient by hand, ``NumpyMLP.backward`` into every parameter's ``.grad``, the same
clipping and the same torch optimizer). ``tests/test_engines.py`` holds it to torch's
outputs and autograd's gradients; notebook 12 derives the backward pass.

``rlkit.engines.select_engine`` picks it only where it is an exact twin. A model changed
after that (a forward hook registered in a notebook) is checked before every call outside a
rollout: with ``engine="auto"`` torch then runs the call, with ``engine="numpy"`` it is an
error. Inside a rollout (``pinned``) the check runs once, at its start.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from rlkit.distributions import Categorical
from rlkit.engines.learner import Learner, check_update
from rlkit.engines.numpy.mlp import (
    NumpyMLP,
    gaussian_sample_logp,
    log_softmax,
    sample_categorical,
    why_not,
)
from rlkit.engines.torch_engine import Acting, Actions, TorchEngine
from rlkit.models import Model


class NumpyEngine:
    """Runs the built-in MLP's forward and PPO's / A2C's step with numpy.

    Args:
        reason: why this engine was chosen, in words (train() results report it).
        strict: True when the config asked for "numpy": a model it can no longer run is
            an error rather than a call handed to torch.
    """

    name = "numpy"

    def __init__(self, reason: str, strict: bool = False):
        self.reason = reason
        self.strict = strict
        self.torch = TorchEngine("auto: the model changed since the engine was chosen")
        self._pinned: list = []  # (thread id, NumpyMLP) of the rollouts running now

    def mlp(self, model: Model) -> NumpyMLP | None:
        """The NumpyMLP running ``model``; None where torch must run it (``strict``: error)."""
        pinned = self._pinned
        if pinned and pinned[-1][0] == threading.get_ident():
            return pinned[-1][1]
        mlp = NumpyMLP.of(model)
        if mlp is None and self.strict:
            raise RuntimeError(
                f"engine='numpy' cannot run the model any more: {why_not(model)}; "
                f"set config engine='auto' (torch wherever numpy is not an exact twin) "
                f"or 'torch'"
            )
        return mlp

    @contextlib.contextmanager
    def pinned(self, model: Model):
        """A rollout: the model is checked once here, not before every step.

        Between a rollout's env steps nothing changes the model (no optimizer step, no new
        hook, no move to a GPU), so the check that the NumpyMLP still matches it (hooks,
        module and parameter identities, storage) runs once per rollout. The pin holds for
        the thread that entered the block alone (a dashboard trains in a thread while the
        notebook may hook the model).
        """
        entry = (threading.get_ident(), self.mlp(model))
        self._pinned.append(entry)
        try:
            yield
        finally:
            self._pinned.remove(entry)

    # -- acting -------------------------------------------------------------------------------
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
        """As TorchEngine.actions; a caller's ``choose`` (over torch tensors) runs in torch."""
        mlp = None if choose is not None else self.mlp(acting.model)
        if mlp is None:
            return self.torch.actions(acting, obs, state, prev, explore, with_value, choose)
        dist_inputs, values = mlp.forward(obs, values=with_value)  # [B, n], [B]
        actions, logp = _sample(acting.dist_class, dist_inputs, explore)
        return Actions(actions, logp, dist_inputs, values, [])

    def act(
        self, acting: Acting, obs: np.ndarray, explore: bool, rng: Callable | None
    ) -> np.ndarray:
        """As TorchEngine.act; the greedy action draws no random numbers."""
        mlp = self.mlp(acting.model)
        if mlp is None:
            return self.torch.act(acting, obs, explore, rng)
        dist_inputs = mlp.forward(obs, values=False)[0]  # [B, n]
        if not explore:  # the mode: no log-probabilities needed
            if acting.dist_class is Categorical:
                return dist_inputs.argmax(axis=1)
            return np.split(dist_inputs, 2, axis=1)[0]  # the means
        with rng() if rng is not None else contextlib.nullcontext():
            return _sample(acting.dist_class, dist_inputs, explore)[0]

    def values(self, acting: Acting, obs: np.ndarray, prev: tuple[Any, Any]) -> np.ndarray:
        """As TorchEngine.values."""
        mlp = self.mlp(acting.model)
        if mlp is None:
            return self.torch.values(acting, obs, prev)
        return mlp.forward(obs, outputs=False)[1].astype(np.float32, copy=False)

    # -- learning ------------------------------------------------------------------------------
    def step(self, learner: Learner, mb: dict[str, Any]) -> dict[str, Any]:
        """One gradient step on ``mb``, as TorchEngine.step computes it.

        The loss is ``learner.twin`` (rlkit.engines.numpy.loss), the gradient by hand
        (``NumpyMLP.backward``); clipping, the guard and the optimizer are those of
        rlkit.engines.learner. A learner without a twin, or a model numpy cannot run, takes
        the torch step.
        """
        mlp = self.mlp(learner.model) if learner.twin is not None else None
        if mlp is None:
            return self.torch.step(learner, mb)
        keep: dict[str, Any] = {}
        outputs, values = mlp.forward(mb["obs"].numpy(), keep=keep)
        total, stats, d_outputs, d_values = learner.twin(mb, outputs, values)
        mlp.backward(keep, d_outputs, d_values)  # into every parameter's .grad
        # Clipping by infinity computes the norm and scales nothing: the guard needs the norm.
        norm = mlp.clip_grads(learner.grad_clip or math.inf)
        check_update(float(total), norm, mlp.params)  # the guard optimise() applies too
        learner.optimizer.step()
        stats["total_loss"] = total
        return stats


def _sample(dist_class: type, dist_inputs: np.ndarray, explore: bool) -> tuple:
    """Draw (learner-layout actions, their logp [B]) as the torch distributions do.

    From Categorical or DiagGaussian inputs [B, n], with torch's generator.
    """
    if dist_class is Categorical:
        log_probs = log_softmax(dist_inputs)  # [B, n]
        actions = sample_categorical(log_probs, explore)  # [B]
        return actions, log_probs[np.arange(len(actions)), actions]
    return gaussian_sample_logp(dist_inputs, explore)  # [B, A], [B]
