"""One action for one observation: what ``Algorithm.compute_single_action`` runs.

The raw observation gets a batch axis of one, goes through the policy (filter applied, not
updated) and the batch axis is removed from what comes back. A feed-forward model without
state or extras takes the quick path, ``Policy.act``; a recurrent one gets its initial state
when none is given and returns ``(action, state_out, extra)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlkit.spaces import add_batch_dim
from rlkit.utils.guards import NonFiniteDataError


def check_single_action_inputs(state: list | None, prev_reward: float | None) -> None:
    """NonFiniteDataError when ``prev_reward`` or a state tensor holds NaN or infinity."""
    if prev_reward is not None and not np.isfinite(prev_reward):
        raise NonFiniteDataError(
            f"compute_single_action got prev_reward={prev_reward}; it must be finite"
        )
    bad = [i for i, s in enumerate(state or []) if not torch.as_tensor(s).isfinite().all()]
    if bad:
        raise NonFiniteDataError(
            f"compute_single_action got a recurrent state holding NaN or infinity (state "
            f"tensor(s) {bad}); pass the state_out of the previous call, or None to start"
        )


def single_action(
    trainer: Any, obs: Any, state: list | None, prev_action: Any, prev_reward: Any, explore: bool
) -> Any:
    """``trainer``'s action for one raw observation (see Algorithm.compute_single_action).

    Args:
        trainer: the Algorithm; its policy, ``action_fn()`` and private RNG stream are used.
        obs: one raw observation (no batch axis).
        state: the recurrent state, list of tensors without batch axis, or None.
        prev_action: the previous action (no batch axis), or None.
        prev_reward: the previous reward, or None.
        explore: sample (True) or take the deterministic action.
    """
    policy = trainer.policy
    batch_obs = add_batch_dim(obs)
    recurrent = policy.is_recurrent()
    plain = state is None and prev_action is None and prev_reward is None
    if plain and not recurrent and trainer.action_fn() == policy.compute_actions:
        # The quick path: no state, no extras to return.
        return remove_batch_dim(policy.act(batch_obs, explore, rng=trainer._own_rng))
    if recurrent and state is None:
        state = policy.get_initial_state(1)
    elif state is not None:
        state = [
            torch.as_tensor(s).reshape(1, *torch.as_tensor(s).shape[-len(i.shape) :])
            for s, i in zip(state, policy.model.get_initial_state())
        ]
    prev_actions = None if prev_action is None else np.asarray(prev_action)[None]
    prev_rewards = None if prev_reward is None else np.asarray([prev_reward], np.float32)
    if prev_actions is None and recurrent:
        prev_actions = np.zeros((1, *policy.action_shape), policy.action_dtype)
        prev_rewards = np.zeros(1, np.float32)
    with trainer._own_rng():
        actions, state_out, extra = trainer.action_fn()(
            batch_obs, state, prev_actions, prev_rewards, explore=explore, update_filter=False
        )
    action = remove_batch_dim(actions)
    if state is None:
        return action
    return action, [s[0] for s in state_out], {k: v[0] for k, v in extra.items()}


def remove_batch_dim(actions: Any) -> Any:
    """Row 0 of a batch of actions; scalar leaves as Python numbers."""
    if isinstance(actions, dict):
        return {k: remove_batch_dim(v) for k, v in actions.items()}
    if isinstance(actions, tuple):
        return tuple(remove_batch_dim(v) for v in actions)
    a = actions[0]
    return a.item() if np.ndim(a) == 0 else a
