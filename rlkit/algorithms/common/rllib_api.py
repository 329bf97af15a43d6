"""RLlib's trainer surface around rlkit's: result keys, ``algo.workers``, policy ids.

RLlib code reads its results and reaches its workers in ways rlkit's own loop does not need;
these keep that code running unchanged:

- ``rllib_result_keys(result)``: RLlib 2.x's nested ``result["env_runners"]`` (and 2.0-2.9's
  ``result["sampler_results"]``) with ``episode_return_mean`` / ``episode_reward_mean`` /
  ``episode_len_mean``, beside rlkit's flat keys.
- ``WorkerSet``: ``algo.workers`` / ``algo.env_runner_group``: ``foreach_worker(fn)`` calls
  ``fn`` on the one local worker (``get_policy()``, ``foreach_env(fn)``, ``policy_map``).
- ``check_policy_id``: ``get_policy(policy_id=...)``: rlkit trainers hold one policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEFAULT_POLICY_ID = "default_policy"  # RLlib's name for a single-agent trainer's policy


def rllib_result_keys(result: dict[str, Any]) -> dict[str, Any]:
    """RLlib 2.x's nested episode figures of a train() result (a dict to merge into it)."""
    episodes = {
        "episode_return_mean": result["episode_reward_mean"],
        "episode_reward_mean": result["episode_reward_mean"],
        "episode_len_mean": result["episode_len_mean"],
        "num_episodes_lifetime": result["episodes_total"],
        "num_env_steps_sampled_lifetime": result["timesteps_total"],
    }
    return {"env_runners": dict(episodes), "sampler_results": dict(episodes)}


def check_policy_id(policy_id: str) -> None:
    """Raise KeyError unless ``policy_id`` is the one policy's id ("default_policy")."""
    if policy_id != DEFAULT_POLICY_ID:
        raise KeyError(
            f"get_policy({policy_id!r}): an rlkit trainer has one policy, "
            f"{DEFAULT_POLICY_ID!r} (rlkit is single-agent); call get_policy() without an id"
        )


class LocalWorker:
    """RLlib's RolloutWorker as far as user code touches it: the policy and the envs.

    Args:
        policy: the trainer's Policy.
        vector_env: the trainer's vector env (None when Ray runners sample).
    """

    def __init__(self, policy: Any, vector_env: Any):
        self.policy_map = {DEFAULT_POLICY_ID: policy}
        self.vector_env = vector_env

    def get_policy(self, policy_id: str = DEFAULT_POLICY_ID) -> Any:
        """The policy (RLlib's ``worker.get_policy()``)."""
        check_policy_id(policy_id)
        return self.policy_map[policy_id]

    def foreach_policy(self, fn: Callable[[Any, str], Any]) -> list:
        """``[fn(policy, "default_policy")]``, as RLlib's."""
        return [fn(p, pid) for pid, p in self.policy_map.items()]

    def foreach_env(self, fn: Callable[[Any], Any]) -> list:
        """``fn(env)`` for each env copy of this process (a synchronous vector env's)."""
        envs = getattr(getattr(self.vector_env, "unwrapped", None), "envs", None)
        if envs is None:
            raise RuntimeError(
                "worker.foreach_env needs each env copy as an object in this process: set "
                "vector_mode 'sync' ('vector' steps one batched env, 'async' and Ray runners "
                "keep the copies in other processes)"
            )
        return [fn(env) for env in envs]


class WorkerSet:
    """``algo.workers``: the local worker (rlkit samples in this process or in Ray actors).

    Args:
        policy: the trainer's Policy.
        vector_env: the local vector env, or None when ``num_env_runners`` > 0.
    """

    def __init__(self, policy: Any, vector_env: Any):
        self._local = LocalWorker(policy, vector_env)

    def local_worker(self) -> LocalWorker:
        """The worker in this process."""
        return self._local

    def foreach_worker(self, fn: Callable[[LocalWorker], Any], local_worker: bool = True) -> list:
        """``[fn(local_worker)]``: the weights live in this process, so that is every worker."""
        return [fn(self._local)] if local_worker else []

    def sync_weights(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: the runners read the trainer's weights at every sample."""
