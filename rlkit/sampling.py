"""Sampling: step a gymnasium vector env with the policy and collect time-major batches.

Every env step flows through the policy's preprocessor -> filter -> model -> distribution.

gymnasium 1.x vector envs autoreset on the *next* step (``AutoresetMode.NEXT_STEP``): after
env ``e`` reports ``terminated`` or ``truncated`` at step ``t``, the action sent at step
``t + 1`` is ignored and the env returns the first observation of a new episode with reward 0.
We keep that row (its obs is the episode's final observation, whose value bootstraps a
truncated episode) but mark it ``valid = False`` so no loss ever trains on it.

Batch layout (``Sampler.sample(T)`` returns a dict of numpy arrays, time-major):

    obs            [T, E, *obs_shape] float32   preprocessed + filtered, what the model saw
                                   (uint8 frames when the policy keeps them unscaled:
                                   Policy.byte_scale; the model scales them as it reads)
    actions        [T, E, ...]                  learner layout (see rlkit.policy)
    action_logp    [T, E]       float32
    action_dist_inputs [T, E, num_outputs]      the distribution's inputs (for KL statistics)
    vf_preds       [T, E]       float32         (when the algorithm asked for values)
    rewards        [T, E]       float32
    terminated     [T, E]       bool            the MDP ended: no bootstrap
    truncated      [T, E]       bool            cut by a time limit: bootstrap with V(final obs)
    valid          [T, E]       bool            False on autoreset rows
    eps_id         [T, E]       int64           unique per episode (autoreset rows get their own)
    next_vf        [T, E]       float32         V(obs at t+1), i.e. the bootstrap value
    prev_actions, prev_rewards  [T, E, ...]     inputs of lstm_use_prev_action / _reward
    state_in       list of [T, E, *state_shape] recurrent state before each row
    last_obs       [E, *obs_shape]              obs after the last row (next obs of row T-1)
"""

from __future__ import annotations

import contextlib
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.envs import make_vec_env
from rlkit.policy import Policy
from rlkit.utils.guards import check_env_data, explain_env_error
from rlkit.utils.threads import limit_threads


class Sampler:
    """Steps ``num_envs`` copies of an env with a policy, keeping state across calls.

    Args:
        env: anything rlkit.envs.make_env accepts.
        policy: the Policy that computes actions.
        num_envs: parallel copies E.
        env_config: passed to the env creator.
        vector_mode: "auto", "sync", "async" or "vector" (see rlkit.envs.make_vec_env).
        seed: seeds the envs' first reset (env e gets seed + e).
        config: the trainer config (Atari's preprocessing, see rlkit.envs.make_vec_env).
        vec_env: the vector env, when the caller already made it from the arguments above
            (a trainer builds its policy from its space); it is remade from them if a
            subprocess dies.
    """

    def __init__(
        self,
        env: Any,
        policy: Policy,
        num_envs: int,
        env_config: dict | None = None,
        vector_mode: str = "auto",
        seed: int | None = None,
        config: dict | None = None,
        vec_env: gym.vector.VectorEnv | None = None,
    ):
        self.policy = policy
        self.num_envs = num_envs
        self._env_args = (env, num_envs, env_config, vector_mode, config)
        self.env = vec_env if vec_env is not None else make_vec_env(*self._env_args)
        # An env that knows the real episodes (Atari's DeepMind preprocessing: a lost life ends
        # a learning episode, the game goes on) reports them in info["episode"].
        self._env_reports_episodes = bool(getattr(self.env, "reports_episodes", False))
        self.episode_returns: deque[float] = deque(maxlen=100)
        self.episode_lengths: deque[int] = deque(maxlen=100)
        self.episodes_total = 0
        self._broken = False
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Start fresh episodes in every env (partial episodes are dropped from the stats)."""
        E = self.num_envs
        if isinstance(self.env.unwrapped, gym.vector.AsyncVectorEnv) and self._broken:
            # A worker that raised is gone (gymnasium drops its pipe): start the envs anew.
            with contextlib.suppress(Exception):
                self.env.close(terminate=True)
            self.env = make_vec_env(*self._env_args)
        self.obs, _ = self._env_call(self.env.reset, seed=seed)
        check_env_data(self.obs, np.zeros(E, np.float32), np.zeros(E, np.int64))
        self.state = self.policy.get_initial_state(E)
        self.prev_actions = self._zero_actions(E)
        self.prev_rewards = np.zeros(E, dtype=np.float32)
        self.autoreset = np.zeros(E, dtype=bool)
        self.ep_return = np.zeros(E, dtype=np.float64)
        self.ep_len = np.zeros(E, dtype=np.int64)
        self.eps_id = np.arange(E, dtype=np.int64)
        self._next_eps_id = E
        self._broken = False

    def _env_call(self, method: Callable, *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)`` of the vector env, its common mistakes explained.

        An async env's worker failure is printed by gymnasium as red warnings before it is
        raised; they are held back and shown only when rlkit has no clearer message.
        """
        if not isinstance(self.env, gym.vector.AsyncVectorEnv):
            try:
                return method(*args, **kwargs)
            except Exception as err:
                self._raise_explained(err)
        with warnings.catch_warnings(record=True) as held:
            warnings.simplefilter("always")
            try:
                result, failure = method(*args, **kwargs), None
            except Exception as err:
                result, failure = None, err
        clearer = None if failure is None else explain_env_error(failure, self._obs_space())
        if clearer is None:  # nothing explained: gymnasium's own report, as it printed it
            for w in held:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if failure is None:
            return result
        if clearer is None:
            raise failure
        raise clearer from failure

    def _obs_space(self) -> gym.Space:
        return self.env.single_observation_space

    def _raise_explained(self, err: Exception) -> None:
        clearer = explain_env_error(err, self._obs_space())
        if clearer is None:
            raise err
        raise clearer from err

    def _zero_actions(self, batch: int) -> np.ndarray:
        return np.zeros((batch, *self.policy.action_shape), dtype=self.policy.action_dtype)

    def sample(
        self, num_steps: int, with_value: bool = True, compute_actions: Callable | None = None
    ) -> dict[str, Any]:
        """Step every env ``num_steps`` times; returns the time-major batch described above.

        Args:
            num_steps: T, steps per env.
            with_value: ask the model for value estimates (vf_preds, next_vf).
            compute_actions: replaces policy.compute_actions (DQN's epsilon-greedy); same
                signature and return values.
        """
        with limit_threads(self.policy.threads.acting()):  # the value pass asks for its own
            return self._sample(num_steps, with_value, compute_actions)

    def _sample(
        self, num_steps: int, with_value: bool, compute_actions: Callable | None
    ) -> dict[str, Any]:
        if self._broken:  # an interrupted step may have left an env half-stepped
            self.reset()
        self._broken = True
        compute = compute_actions or self.policy.compute_actions
        step_values = with_value and not self.value_later(with_value)
        with self.policy.pin_engine():  # the model cannot change between these steps
            rows = [self._step(compute, step_values) for _ in range(num_steps)]
            batch = self.assemble(rows, with_value)
        self._broken = False
        return batch

    def value_later(self, with_value: bool) -> bool:
        """Whether a rollout's values come from one pass after it, not from each step.

        A feed-forward model's value of a row depends on that row alone and is not needed to
        act, so the whole rollout is valued in one forward afterwards instead of T small ones,
        unless the value is a head on the features each step's forward computes anyway.
        """
        shares = self.policy.model.value_shares_forward()
        return with_value and not self.policy.is_recurrent() and not shares

    def assemble(self, rows: list[dict[str, Any]], with_value: bool) -> dict[str, Any]:
        """The time-major batch (module docstring) of a rollout's rows, values included."""
        # With no filter statistics the filtered obs is the preprocessed one: one array serves
        # both (1,024 rows of Atari frames: 29 MB as uint8, 115 MB as float32).
        same = all(r["unfiltered_obs"] is r["obs"] for r in rows)
        skip = ("state_in", "unfiltered_obs") if same else ("state_in",)
        batch = {k: np.stack([r[k] for r in rows]) for k in rows[0] if k not in skip}
        if same:
            batch["unfiltered_obs"] = batch["obs"]
        batch["state_in"] = [
            np.stack([r["state_in"][i] for r in rows]) for i in range(len(rows[0]["state_in"]))
        ]
        batch["last_obs"] = self.policy.preprocess(self.obs, update_filter=False)
        if self.value_later(with_value):
            batch["vf_preds"], batch["next_vf"] = self._rollout_values(batch)
        elif with_value and not self.policy.is_recurrent():  # values came with each forward
            last = self.policy.compute_values(
                batch["last_obs"], self.prev_actions, self.prev_rewards
            )  # [E]: V(current obs), the last row's next value
            batch["next_vf"] = np.concatenate([batch["vf_preds"][1:], last[None]])
        else:
            batch["next_vf"] = self._next_values(batch, with_value)
        return batch

    def _rollout_values(self, batch: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(vf_preds, next_vf), both [T, E], from one pass over the T rows and the last obs."""
        T, E = batch["rewards"].shape

        def rows_then_last(rows: np.ndarray, last: np.ndarray) -> np.ndarray:
            # [T, E, ...] and [E, ...] -> [(T + 1) * E, ...]
            return np.concatenate([rows.reshape(T * E, *rows.shape[2:]), last])

        values = self.policy.compute_values(
            rows_then_last(batch["obs"], batch["last_obs"]),
            rows_then_last(batch["prev_actions"], self.prev_actions),
            rows_then_last(batch["prev_rewards"], self.prev_rewards),
        ).reshape(T + 1, E)  # [(T + 1) * E] -> [T + 1, E]
        return values[:-1], values[1:]  # V(obs at t), V(obs at t + 1)

    def _step(self, compute: Callable, with_value: bool) -> dict[str, Any]:
        return self.finish_step(self.start_step(compute, with_value, send=False))

    def start_step(self, compute: Callable, with_value: bool, send: bool) -> tuple:
        """Act on the current obs; with ``send``, start the envs' step (``env.send``) too.

        ``finish_step`` then waits for the envs (``env.recv``, or the whole ``env.step``
        without ``send``) and returns the row: two halves of a vector of envs can each
        step while the other's forward runs (rlkit.overlap).
        """
        state_in = [s.cpu().numpy() for s in self.state]
        acted = compute(
            self.obs, self.state, self.prev_actions, self.prev_rewards, with_value=with_value
        )
        if send:
            self._env_call(self.env.send, acted[0])
        return state_in, acted, send

    def finish_step(self, started: tuple) -> dict[str, Any]:
        """The row of the step ``start_step`` began (see there)."""
        state_in, (env_actions, state_out, extra), sent = started
        wait = (self.env.recv,) if sent else (self.env.step, env_actions)
        next_obs, rewards, terminated, truncated, info = self._env_call(*wait)
        if self._env_reports_episodes and "_episode" in info:
            self._record_reported(info)
        rewards = np.asarray(rewards, dtype=np.float32)
        if rewards.shape != self.prev_rewards.shape:  # async mode stacks what the envs return
            raise ValueError(
                f"the env's step() returned rewards of shape {list(rewards.shape[1:])} per env, "
                "not one number: gymnasium's reward is a float; return float(reward), e.g. "
                "reward.item() for a shape-(1,) array"
            )
        check_env_data(next_obs, rewards, self.ep_len + 1)  # before anything uses them
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        new_episode = self.autoreset  # this row was the autoreset step
        valid = ~new_episode
        row = {
            "obs": extra["obs"],
            "unfiltered_obs": extra.get("unfiltered_obs", extra["obs"]),
            "actions": extra["actions"],
            "action_logp": extra["action_logp"],
            "action_dist_inputs": extra["action_dist_inputs"],
            "rewards": rewards,
            "terminated": terminated,
            "truncated": truncated,
            "valid": valid,
            "eps_id": self.eps_id.copy(),
            "prev_actions": self.prev_actions,
            "prev_rewards": self.prev_rewards,
            "state_in": state_in,
        }
        if "vf_preds" in extra:
            row["vf_preds"] = extra["vf_preds"]
        done = terminated | truncated
        if new_episode.any() or done.any():
            self._episode_boundaries(row, done & valid, state_out)
        else:  # the common step: every env is mid-episode, nothing to reset
            self.ep_return += rewards
            self.ep_len += 1
            self.prev_actions = extra["actions"].astype(self.prev_actions.dtype, copy=False)
            self.prev_rewards = rewards
            self.state = state_out
            self.autoreset = done
        self.obs = next_obs
        return row

    def _episode_boundaries(self, row: dict[str, Any], done: np.ndarray, state_out: list) -> None:
        """Bookkeeping of a step where some env finished an episode or was autoreset."""
        rewards, valid, actions = row["rewards"], row["valid"], row["actions"]
        # Episode statistics count real transitions only.
        self.ep_return += np.where(valid, rewards, 0.0)
        self.ep_len += valid
        for e in np.flatnonzero(done) if not self._env_reports_episodes else ():
            self.episode_returns.append(float(self.ep_return[e]))
            self.episode_lengths.append(int(self.ep_len[e]))
            self.episodes_total += 1
        # Rows after this one: an autoreset row for the done envs, a new episode after it.
        new_episode = self.autoreset  # this row was the autoreset step
        self.ep_return[new_episode | done] = 0.0
        self.ep_len[new_episode | done] = 0
        reset_ids = done | new_episode
        self.eps_id[reset_ids] = self._next_eps_id + np.arange(int(reset_ids.sum()))
        self._next_eps_id += int(reset_ids.sum())
        self.prev_actions = np.where(_expand(valid, actions), actions, 0).astype(
            self.prev_actions.dtype
        )
        self.prev_rewards = np.where(valid, rewards, 0.0).astype(np.float32)
        if state_out and new_episode.any():
            initial = self.policy.get_initial_state(self.num_envs)
            keep = torch.as_tensor(~new_episode, device=state_out[0].device)
            state_out = [torch.where(_expand_t(keep, s), s, i) for s, i in zip(state_out, initial)]
        if new_episode.any():
            self.prev_actions[new_episode] = 0
            self.prev_rewards[new_episode] = 0.0
        self.state = state_out
        self.autoreset = done

    def _record_reported(self, info: dict[str, Any]) -> None:
        """Episode statistics from an env's info["episode"] (returns "r", lengths "l")."""
        for e in np.flatnonzero(info["_episode"]):
            self.episode_returns.append(float(info["episode"]["r"][e]))
            self.episode_lengths.append(int(info["episode"]["l"][e]))
            self.episodes_total += 1

    def _next_values(self, batch: dict[str, Any], with_value: bool) -> np.ndarray:
        """V(obs at t+1) for every row.

        That is the next row's prediction, and for the last row one extra forward on the
        current obs (the state is not advanced).
        """
        T, E = batch["rewards"].shape
        if not with_value:
            return np.zeros((T, E), dtype=np.float32)
        next_vf = np.empty((T, E), dtype=np.float32)
        next_vf[:-1] = batch["vf_preds"][1:]
        _, _, extra = self.policy.compute_actions(
            self.obs,
            self.state,
            self.prev_actions,
            self.prev_rewards,
            update_filter=False,
            with_value=True,
        )
        next_vf[-1] = extra["vf_preds"]
        return next_vf

    def stats(self) -> dict[str, float]:
        """Mean return and length over the last 100 finished episodes (NaN before the first)."""
        return episode_stats(self.episode_returns, self.episode_lengths, self.episodes_total)

    def close(self) -> None:
        """Close the vector env (and its worker processes)."""
        self.env.close()


def _expand(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return mask.reshape(mask.shape + (1,) * (like.ndim - 1))


def _expand_t(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.reshape(mask.shape + (1,) * (like.dim() - 1))


def episode_stats(returns: Any, lengths: Any, total: int) -> dict[str, float]:
    """Mean return and length of the episodes kept (NaN before the first), and the count."""
    return {
        "episode_reward_mean": float(np.mean(returns)) if returns else float("nan"),
        "episode_len_mean": float(np.mean(lengths)) if lengths else float("nan"),
        "episodes_total": total,
    }


def episodes_since(sampler: Any, seen: int) -> list[tuple[float, int]]:
    """(return, length) of the episodes ``sampler`` finished since it had finished ``seen``.

    At most the last 100, the ones a Sampler keeps; a sampler over other samplers (Ray
    runners, rlkit.overlap's halves) gathers its children's episodes with it.
    """
    new = min(sampler.episodes_total - seen, len(sampler.episode_returns))
    if new <= 0:
        return []
    return list(zip(list(sampler.episode_returns)[-new:], list(sampler.episode_lengths)[-new:]))


def add_episodes(sampler: Any, episodes: list[tuple[float, int]]) -> None:
    """Count ``episodes`` ((return, length) pairs) in ``sampler``'s statistics."""
    for ret, length in episodes:
        sampler.episode_returns.append(ret)
        sampler.episode_lengths.append(length)
        sampler.episodes_total += 1
