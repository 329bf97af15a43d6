"""Remote env runners: sampling on N Ray actors, learning in the trainer's process.

With ``num_env_runners`` N > 0 a trainer's ``sampler`` is an ``EnvRunnerGroup`` instead of a
local ``rlkit.sampling.Sampler``; it has the Sampler's methods, so the algorithms do not know
the difference. One iteration (RLlib's synchronous sampling):

1. The driver puts the policy's weights into Ray's object store ONCE (``ray.put``); every
   runner reads them from there, with the driver's observation-filter statistics.
2. Each runner (an ``EnvRunner`` actor: a Policy copy + a Sampler of ``num_envs`` envs)
   loads them, samples T steps per env, and returns its batch and its filter's *delta*.
3. The driver joins the batches along the env axis, ``[T, E] x N -> [T, N*E]``, exactly as
   one Sampler of N*E envs lays them out (episode ids stay distinct: runner i's ids carry
   ``i << 40``), and merges every delta into its filter (RLlib's FilterManager:
   ``apply_changes`` of deltas, never an overwrite).

Seeds: runner i seeds its envs with ``seed + i * E`` (the seeds one Sampler of N*E envs would
use) and its action sampling with a generator of its own seeded ``seed + i``; the same seed
and N give the same batches on every run. A runner rebuilt after a failure gets generation g > 0 and
seeds ``seed + g * 1_000_003 + ...``.

Image observations travel as uint8: a float32 array whose values are exactly ``k``,
``k / 255`` or ``(k - 128) / 128`` for uint8 ``k`` (what rlkit's preprocessors make of
frames) is sent as its ``k`` and rebuilt bit for bit at the driver (8x less traffic).

A runner that dies (its node lost, its process killed) is rebuilt and its part of the
iteration sampled again; the event is reported in the next ``train()`` result
(``env_runner_events``, ``num_env_runner_restarts``), as RLlib restarts failed env runners.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import Any

import numpy as np
import torch

from rlkit.filters import NoFilter
from rlkit.overlap import join_halves
from rlkit.sampling import Sampler, add_episodes, episode_stats, episodes_since
from rlkit.utils.seeding import new_generator, private_rng

EPS_ID_STRIDE = 1 << 40  # runner i's episode ids are i * EPS_ID_STRIDE + its own ids
GENERATION_STRIDE = 1_000_003  # seed offset of a rebuilt runner's generation
START_TIMEOUT_S = 300  # how long a runner may take to be placed and started
_PACK_MIN_SIZE = 1 << 16  # only arrays this large (frames) are worth checking for uint8
_PACK_KEYS = ("obs", "unfiltered_obs", "last_obs")


def runner_seeds(seed: int | None, index: int, num_envs: int, generation: int = 0):
    """(env seed, torch seed) of runner ``index``; (None, None) without a seed."""
    if seed is None:
        return None, None
    base = seed + generation * GENERATION_STRIDE
    return base + index * num_envs, base + index


# -- uint8 transport -----------------------------------------------------------------------


def pack_uint8(x: np.ndarray) -> Any:
    """``x`` float32 as ``("u8", code, k)`` when one uint8 code rebuilds it bit for bit."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.size < _PACK_MIN_SIZE:
        return x
    for code in ("k", "k/255", "(k-128)/128"):
        k = np.rint(_encode(x, code))
        if k.min() < 0 or k.max() > 255:
            continue
        k = k.astype(np.uint8)
        if np.array_equal(_decode(k, code), x):
            return ("u8", code, k)
    return x


def unpack_uint8(x: Any) -> np.ndarray:
    """Inverse of ``pack_uint8``."""
    if isinstance(x, tuple) and len(x) == 3 and x[0] == "u8":
        return _decode(x[2], x[1])
    return x


def _encode(x: np.ndarray, code: str) -> np.ndarray:
    if code == "k":
        return x
    if code == "k/255":
        return x * np.float32(255.0)
    return x * np.float32(128.0) + np.float32(128.0)


def _decode(k: np.ndarray, code: str) -> np.ndarray:
    x = k.astype(np.float32)
    if code == "k":
        return x
    if code == "k/255":
        return x / np.float32(255.0)  # the same float32 division the preprocessor made
    return (x - np.float32(128.0)) / np.float32(128.0)


# -- one runner (a plain class; EnvRunnerGroup makes it a Ray actor) --------------------------


class EnvRunner:
    """A Policy copy and a Sampler of ``num_envs`` envs; what one Ray actor runs.

    Args:
        index: this runner's position i in the group (seeds, episode ids).
        spec: ``env``, ``env_config``, ``env_creators`` (rlkit.register_env names the env
            needs), ``num_envs``, ``vector_mode``, ``seed``, ``generation``, ``num_threads``,
            ``algorithm`` (the trainer class: its ``runner_actions`` builds how to act),
            ``config`` (the trainer's config: how the envs are wrapped).
        policy: a copy of the driver's Policy (pickled whole, so custom models travel too).
    """

    def __init__(self, index: int, spec: dict[str, Any], policy: Any):
        from rlkit.envs import register_env

        threads = spec["num_threads"]  # "auto": the runner's policy sizes each call
        torch.set_num_threads(threads if isinstance(threads, int) else 1)
        for name, creator in spec["env_creators"].items():
            register_env(name, creator)
        self.index = index
        self.policy = policy
        self.algorithm = spec["algorithm"]
        self.num_envs = spec["num_envs"]
        self.seed, self.generation = spec["seed"], spec["generation"]
        env_seed, torch_seed = runner_seeds(self.seed, index, self.num_envs, self.generation)
        self._generator = new_generator(torch_seed)
        self.sampler = Sampler(
            spec["env"],
            policy,
            self.num_envs,
            spec["env_config"],
            spec["vector_mode"],
            env_seed,
            config=spec["config"],
        )
        self._reported = 0  # episodes already sent to the driver

    def _own_rng(self) -> contextlib.AbstractContextManager:
        """This runner's generator for its draws (rlkit.utils.seeding)."""
        return private_rng(self)

    def sample(
        self,
        weights: dict[str, np.ndarray],
        filter_: Any,
        num_steps: int,
        with_value: bool,
        exploration: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Load the driver's weights and filter, sample ``num_steps`` per env.

        Returns: {"batch": the Sampler batch (frames packed as uint8, episode ids offset),
            "filter": a copy holding this iteration's delta, "episodes": [(return, length)]
            finished since the last call}.
        """
        state = {k: torch.tensor(v) for k, v in weights.items()}  # copies the read-only views
        self.policy.model.load_state_dict(state)
        self.policy.filter.sync(filter_)
        compute = self.algorithm.runner_actions(self.policy, exploration) if exploration else None
        with self._own_rng():
            batch = self.sampler.sample(num_steps, with_value=with_value, compute_actions=compute)
        delta = self.policy.filter.copy()
        self.policy.filter.clear_buffer()
        batch["eps_id"] = batch["eps_id"] + self.index * EPS_ID_STRIDE
        if isinstance(self.policy.filter, NoFilter):
            batch.pop("unfiltered_obs")  # equal to obs; the driver restores it
        for key in _PACK_KEYS:
            if key in batch:
                batch[key] = pack_uint8(batch[key])
        return {"batch": batch, "filter": delta, "episodes": self._new_episodes()}

    def _new_episodes(self) -> list[tuple[float, int]]:
        episodes = episodes_since(self.sampler, self._reported)
        self._reported = self.sampler.episodes_total
        return episodes

    def reset(self, seed: int | None) -> None:
        """Fresh episodes, envs seeded as at construction but from ``seed``."""
        env_seed, _ = runner_seeds(seed, self.index, self.num_envs, self.generation)
        self.sampler.reset(env_seed)

    def where(self) -> dict[str, Any]:
        """The Ray node and process this runner lives in."""
        import os

        import ray

        return {"node_id": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def close(self) -> None:
        """Close the envs."""
        self.sampler.close()


def join_batches(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Runner batches ``[T, E_i, ...]`` -> one ``[T, sum E_i, ...]`` batch, in runner order.

    Arrays packed as uint8 are rebuilt as float32 (frames the policy keeps as uint8 travel as
    they are); ``last_obs`` [E_i, ...] joins on axis 0 (rlkit.overlap.join_halves).
    """
    parts = [{k: unpack_uint8(v) for k, v in p.items()} for p in parts]
    for p in parts:  # NoFilter: obs was sent once
        p.setdefault("unfiltered_obs", p["obs"])
    return join_halves(parts)


# -- the group the trainer talks to ------------------------------------------------------------


class EnvRunnerGroup:
    """N ``EnvRunner`` Ray actors behind the Sampler interface (sample, stats, reset, close).

    Args:
        trainer: the Algorithm (its policy, config and class).
        env: the env spec the trainer was given.
        num_runners: N > 0.
    """

    def __init__(self, trainer: Any, env: Any, num_runners: int):
        from rlkit.envs import _ENV_CREATORS
        from rlkit.scaling import require_ray

        self.ray = require_ray(f"num_env_runners={num_runners}")
        if not self.ray.is_initialized():
            from rlkit.scaling.cluster import init_local_ray

            init_local_ray()
        c = trainer.config
        self.trainer = trainer
        self.num_runners = num_runners
        self.num_envs = c["num_envs"] * num_runners  # E of the joined batch
        self.spec = {
            "env": env,
            "env_config": c["env_config"],
            "env_creators": {env: _ENV_CREATORS[env]}
            if isinstance(env, str) and env in _ENV_CREATORS
            else {},
            "num_envs": c["num_envs"],
            "vector_mode": c["vector_mode"],
            "seed": c["seed"],
            "generation": 0,
            "num_threads": c["num_threads"],
            "algorithm": type(trainer),
            "config": c,
        }
        self.episode_returns: deque[float] = deque(maxlen=100)
        self.episode_lengths: deque[int] = deque(maxlen=100)
        self.episodes_total = 0
        self.restarts = 0
        self._events: list[str] = []
        self._generation = [0] * num_runners
        self.actors = [self._make(i) for i in range(num_runners)]
        self._wait_started(list(range(num_runners)))  # fail here, not mid-iteration

    def _wait_started(self, indices: list[int]) -> None:
        """Wait until the runners ``indices`` run; a clear error when Ray cannot place them."""
        refs = [self.actors[i].where.remote() for i in indices]
        try:
            self.ray.get(refs, timeout=START_TIMEOUT_S)
        except self.ray.exceptions.GetTimeoutError as err:
            for i in indices:  # a pending actor would hold its place in Ray's queue
                self.ray.kill(self.actors[i])
            cpus = self.ray.cluster_resources().get("CPU", 0)
            free = self.ray.available_resources().get("CPU", 0)
            raise RuntimeError(
                f"{len(indices)} env runner(s) did not start within {START_TIMEOUT_S} s: each "
                f"needs 1 CPU and the Ray cluster has {cpus:g} ({free:g} free). Lower "
                f"num_env_runners, add nodes, or set num_env_runners 0 to sample in this process"
            ) from err

    def _make(self, index: int) -> Any:
        actor_class = self.ray.remote(num_cpus=1, max_restarts=0)(EnvRunner)
        spec = {**self.spec, "generation": self._generation[index]}
        policy = self.trainer.policy
        return actor_class.options(scheduling_strategy="SPREAD").remote(index, spec, policy)

    def sample(
        self, num_steps: int, with_value: bool = True, compute_actions: Any = None
    ) -> dict[str, Any]:
        """One fragment of ``num_steps`` per env from every runner, joined ``[T, N*E]``."""
        model = self.trainer.policy.model
        weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        weights_ref = self.ray.put(weights)  # once per iteration, read by every runner
        filter_ = self.trainer.policy.filter.copy()
        filter_.clear_buffer()
        exploration = self.trainer.exploration_state() if compute_actions is not None else None
        args = (weights_ref, filter_, num_steps, with_value, exploration)
        refs = [a.sample.remote(*args) for a in self.actors]
        results = [self._get_or_rebuild(i, ref, args) for i, ref in enumerate(refs)]
        for r in results:  # the FilterManager step: merge deltas, in runner order
            self.trainer.policy.filter.apply_changes(r["filter"])
            add_episodes(self, r["episodes"])
        return join_batches([r["batch"] for r in results])

    def _get_or_rebuild(self, index: int, ref: Any, args: tuple) -> dict[str, Any]:
        """The runner's result; if the runner died, rebuild it and sample its part again."""
        from ray.exceptions import RayActorError

        for attempt in range(3):
            try:
                return self.ray.get(ref)
            except RayActorError as err:
                if attempt == 2:
                    raise RuntimeError(
                        f"env runner {index} died three times in one iteration ({err}); "
                        f"check the Ray cluster (ray status) or set num_env_runners 0"
                    ) from err
                self._generation[index] += 1
                self.restarts += 1
                self._events.append(
                    f"env runner {index} died ({type(err).__name__}); rebuilt as generation "
                    f"{self._generation[index]} and its sample retried"
                )
                self.actors[index] = self._make(index)
                self._wait_started([index])
                ref = self.actors[index].sample.remote(*args)
        raise AssertionError("unreachable")

    def where(self) -> list[dict[str, Any]]:
        """Node id and pid of every runner, in runner order."""
        return self.ray.get([a.where.remote() for a in self.actors])

    def stats(self) -> dict[str, Any]:
        """Episode statistics over every runner, and the runner events since the last call."""
        events, self._events = self._events, []
        return {
            **episode_stats(self.episode_returns, self.episode_lengths, self.episodes_total),
            "num_env_runners": self.num_runners,
            "num_env_runner_restarts": self.restarts,
            "env_runner_events": events,
        }

    def reset(self, seed: int | None = None) -> None:
        """Fresh episodes on every runner (envs seeded from ``seed``)."""
        self.ray.get([a.reset.remote(seed) for a in self.actors])

    def close(self) -> None:
        """Close every runner's envs and end the actors."""
        for a in self.actors:
            with contextlib.suppress(Exception):
                self.ray.get(a.close.remote(), timeout=30)
            self.ray.kill(a)
        self.actors = []
