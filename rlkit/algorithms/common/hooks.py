"""What an algorithm overrides: the hooks ``Algorithm`` calls, with what each does by default.

``Algorithm`` (rlkit.algorithms.base) runs the loop; a subclass fills in these. On-policy
algorithms get ``training_step`` and ``step_loss`` from ``OnPolicyAlgorithm``
(rlkit.algorithms.onpolicy) and write ``loss``; DQN and BC write both.
"""

from __future__ import annotations

from typing import Any

import torch

from rlkit.engines.learner import TwinFn


class AlgorithmHooks:
    """The overridable part of ``Algorithm``; ``self.policy`` and ``self.config`` are set."""

    def setup(self) -> None:
        """Algorithm-specific state (replay buffers, target networks...)."""

    def validate(self) -> None:
        """Checks and derived settings that involve several keys (after the table's checks)."""

    def check_policy(self) -> None:
        """Raise a clear error when the model/distribution cannot work with this algorithm."""

    def training_step(self) -> dict[str, float]:
        """One training step (sample, learn); returns its statistics. Subclasses define it."""
        raise NotImplementedError

    def step_loss(self, mb: dict[str, Any]) -> tuple[torch.Tensor, dict, dict[str, Any]]:
        """Forward and loss on minibatch ``mb``: (scalar loss, statistics, loss_inputs).

        ``loss_inputs`` is the batch as the model saw it (``Model.custom_loss`` reads it).
        ``self.engine.step(self.learner, mb)`` runs it, then the optimizer step.
        """
        raise NotImplementedError

    def loss_twin(self) -> TwinFn | None:
        """The numpy twin of ``step_loss`` (rlkit.engines.numpy.loss), or None (no twin)."""
        return None

    def action_fn(self):
        """How this algorithm acts, with Policy.compute_actions' signature (DQN: epsilon-greedy)."""
        return self.policy.compute_actions

    def exploration_state(self) -> dict[str, Any]:
        """What remote env runners need to act as action_fn() does (DQN: its epsilon)."""
        return {}

    @staticmethod
    def runner_actions(policy: Any, exploration: dict[str, Any]):
        """On a remote runner: compute_actions acting as action_fn() does.

        It is given exploration_state(); None means the policy's own compute_actions.
        """
        return None

    def extra_state(self) -> dict[str, Any]:
        """Algorithm-specific tensors for checkpoints (e.g. a target network)."""
        return {}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Load what extra_state() returned (nothing here)."""
