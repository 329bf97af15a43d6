"""Algorithm: what every trainer shares (config, policy, sampler, train loop, checkpoints).

A subclass declares its config keys in ``KEYS`` (rlkit.algorithms.config.keys: type, range, default,
meaning; on top of ``COMMON_KEYS``) and implements ``training_step() -> dict`` (sample, then
learn; returns learner statistics). ``train()`` runs training steps until
``min_sample_timesteps_per_iteration`` env steps were sampled (at least one), adds counters,
timing and episode statistics, and keeps the trainer usable when a step raises or is
interrupted.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from rlkit.algorithms.common.acting import check_single_action_inputs, single_action
from rlkit.algorithms.common.building import make_policy, make_sampler
from rlkit.algorithms.common.checkpoint import new_results_dir, restore_checkpoint, write_checkpoint
from rlkit.algorithms.common.evaluation import EVALUATION_KEYS, Evaluator, evaluation_due
from rlkit.algorithms.common.hooks import AlgorithmHooks
from rlkit.algorithms.common.results import iteration_result, mean_stats
from rlkit.algorithms.common.rllib_api import DEFAULT_POLICY_ID, WorkerSet, check_policy_id
from rlkit.algorithms.common.snapshot import roll_back, take_snapshot
from rlkit.algorithms.config.checking import build_config
from rlkit.algorithms.config.keys import COMMON_KEYS, Key, defaults, table
from rlkit.engines import Engine, select_engine
from rlkit.engines.learner import Learner, make_adam
from rlkit.envs import env_label
from rlkit.policy import Policy
from rlkit.utils.devices import resolve_device
from rlkit.utils.seeding import new_generator, private_rng
from rlkit.utils.threads import limit_threads

# Every algorithm's shared keys, with their defaults (the table: rlkit.algorithms.config.keys).
COMMON_CONFIG: dict[str, Any] = defaults(COMMON_KEYS)


def piecewise(schedule: list, t: float) -> float:
    """Linear interpolation in [[t0, v0], [t1, v1], ...], constant outside."""
    ts = [p[0] for p in schedule]
    vs = [p[1] for p in schedule]
    return float(np.interp(t, ts, vs))


def full_default_config(algorithm: type) -> dict[str, Any]:
    """Every key an algorithm takes with its default (RLlib's ``ppo.DEFAULT_CONFIG``).

    A deep copy: ``config = ppo.DEFAULT_CONFIG.copy(); config["model"]["fcnet_hiddens"] = ...``
    edits the copy, never the algorithm's own defaults.
    """
    return copy.deepcopy({name: key.default for name, key in algorithm.config_keys().items()})


class Algorithm(AlgorithmHooks):
    """Base trainer. Construct as ``PPO(env="CartPole-v1", config={...})``.

    A subclass declares its config keys in ``KEYS`` (rlkit.algorithms.config.keys.Key: type, range,
    default, meaning) on top of ``COMMON_KEYS`` and its bases' ``KEYS``; ``NOT_KEYS`` maps keys
    it deliberately lacks to what to use instead. ``DEFAULT_CONFIG`` holds the defaults of its
    own keys; a user subclass may still add keys there (they then take any value).
    """

    KEYS: tuple[Key, ...] = ()
    NOT_KEYS: dict[str, str] = {}
    DEFAULT_CONFIG: dict[str, Any] = {}
    needs_value = True  # whether sampling asks the model for value estimates

    @classmethod
    def config_keys(cls) -> dict[str, Key]:
        """Every config key of this algorithm by name: its type, range, default and meaning."""
        own = [c.__dict__.get("KEYS", ()) for c in reversed(cls.__mro__)]
        keys = table(COMMON_KEYS.values(), EVALUATION_KEYS, *own)
        for c in reversed(cls.__mro__):  # defaults set in a DEFAULT_CONFIG dict win
            for name, value in c.__dict__.get("DEFAULT_CONFIG", {}).items():
                if name in keys:
                    keys[name] = replace(keys[name], default=value)
                else:
                    keys[name] = Key(name, value, "declared in DEFAULT_CONFIG", "any", none=True)
        return keys

    @classmethod
    def get_default_config(cls) -> Any:
        """RLlib 2.x's ``PPO.get_default_config()``: an AlgorithmConfig builder for this class."""
        from rlkit.algorithms.algorithm_config import CONFIG_CLASSES, AlgorithmConfig

        return CONFIG_CLASSES.get(cls.__name__, AlgorithmConfig)(cls)

    def __init__(self, env: Any = None, config: dict | None = None):
        name = type(self).__name__
        env, self.config = build_config(self.config_keys(), name, env, config, self.NOT_KEYS)
        self.validate()
        self.env_spec = env
        seed = self.config["seed"]
        if seed is not None:  # for your own code that draws from the global generators
            torch.manual_seed(seed)
            np.random.seed(seed)
        # Each trainer draws rlkit's random numbers from its own generator (rlkit.utils.seeding),
        # so trainers in other threads (two dashboards in one notebook) never perturb it and a
        # restored one replays exactly.
        self._generator = new_generator(seed)
        self.device = resolve_device(self.config["device"])
        with private_rng(self):
            vec_env = self._build_policy(env)
        # Sampling stays on the CPU; learning happens on self.model, a copy on the device.
        self.model = (
            self.policy.model
            if self.device.type == "cpu"
            else copy.deepcopy(self.policy.model).to(self.device)
        )
        self.optimizer = make_adam(self.model, self.config["lr"], self.config["adam_epsilon"])
        self.sampler = make_sampler(self, env, vec_env, seed)
        self.iteration = 0
        # train(), save() and restore() take turns: a notebook's save() while a dashboard
        # trains waits for the iteration's end, so a checkpoint never holds half an update.
        self._lock = threading.RLock()
        self._logdir: str | None = None
        self.timesteps_total = 0
        self.time_total_s = 0.0
        self.writer = None
        self._evaluator: Evaluator | None = None
        if self.config["output"]:
            from rlkit.offline import JsonWriter

            self.writer = JsonWriter(self.config["output"], env_label(env))
        self.result_logger = None
        with private_rng(self):
            self.setup()
        self.engine = self.choose_engine()
        try:
            self.result_logger = self._start_logger()
        except BaseException:
            self.stop()
            raise

    @property
    def _rng_state(self) -> torch.Tensor:
        """The state of this trainer's generator (checkpoints and snapshots keep it)."""
        return self._generator.get_state()

    @_rng_state.setter
    def _rng_state(self, state: torch.Tensor) -> None:
        self._generator.set_state(state)

    def _start_logger(self) -> Any:
        """The ResultLogger that logger_config asks for (rlkit.records.logger), or None."""
        if self.config["logger_config"] is None:
            return None
        from rlkit.records.logger import open_logger

        logger = open_logger(self.config["logger_config"], self.config, lambda: self.logdir)
        self._logdir = logger.logdir  # save() without a folder writes beside the logs
        return logger

    def _build_policy(self, env: Any) -> Any:
        """Build ``self.policy`` over the vector env the sampler will step; returns that env.

        What the config will need in memory is checked first (rlkit.algorithms.common.memory, inside
        make_policy): with a one-number observation before any env exists, with the real
        spaces before the model.
        """
        vec_env, self.policy = make_policy(env, self.config)
        try:
            self.check_policy()
        except BaseException:
            vec_env.close()
            raise
        return vec_env

    def _own_rng(self) -> contextlib.AbstractContextManager:
        """This trainer's generator for rlkit's draws in this thread (rlkit.utils.seeding)."""
        return private_rng(self)

    def choose_engine(self) -> Engine:
        """The engine for this trainer's acting and learning (rlkit.engines).

        It is chosen again at every train(): a hook registered or a layer frozen since then
        makes "auto" choose torch, and "numpy" an error saying why.
        """
        self.learner = self.make_learner()
        engine = select_engine(self.config["engine"], self.policy.acting, self.learner)
        self.policy.engine = engine  # the policy acts with the engine the learner uses
        return engine

    def make_learner(self) -> Learner:
        """This algorithm's gradient step, as every engine takes it (rlkit.engines.learner).

        ``step_loss`` is the loss; ``loss_twin()`` its numpy twin, where there is one.
        """
        return Learner(
            name=type(self).__name__,
            model=self.model,
            optimizer=self.optimizer,
            grad_clip=self.config["grad_clip"],
            loss=self.step_loss,
            twin=self.loss_twin(),
        )

    # -- public API ---------------------------------------------------------------------
    def get_policy(self, policy_id: str = DEFAULT_POLICY_ID) -> Policy:
        """The policy: preprocessor, filter, model and distribution (RLlib's get_policy).

        ``policy_id`` may be given as RLlib code does; rlkit trainers hold one policy,
        "default_policy" (another id is a KeyError saying so).
        """
        check_policy_id(policy_id)
        return self.policy

    @property
    def workers(self) -> WorkerSet:
        """RLlib's ``algo.workers``: ``foreach_worker(fn)`` calls fn on the local worker."""
        local = getattr(self.sampler, "env", None)  # None when Ray runners sample
        return WorkerSet(self.policy, local)

    env_runner_group = workers  # RLlib 2.x's name

    def evaluate(self) -> dict[str, Any]:
        """One evaluation as RLlib's ``algo.evaluate()``: ``{"evaluation": {...}}``.

        ``evaluation_duration`` episodes (or env steps) on an env of its own, actions not
        explored unless ``evaluation_config["explore"]`` (rlkit.algorithms.common.evaluation).
        """
        with self._lock, limit_threads(self.policy.threads.acting()), self._own_rng():
            if self._evaluator is None:
                self._evaluator = Evaluator(
                    self.env_spec, self.policy, self.action_fn(), self.config
                )
            return {"evaluation": self._evaluator.evaluate()}

    def current_lr(self) -> float:
        """The learning rate now: ``lr_schedule`` at timesteps_total, else ``lr``."""
        schedule = self.config["lr_schedule"]
        return piecewise(schedule, self.timesteps_total) if schedule else self.config["lr"]

    def sample(self, num_steps: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """One rollout fragment from every env (and the JSON output, when configured)."""
        batch = self.sampler.sample(
            num_steps or self.config["rollout_fragment_length"],
            with_value=self.needs_value,
            **kwargs,
        )
        self.timesteps_total += int(batch["valid"].sum())
        if self.writer is not None:
            self.writer.write(batch)
        return batch

    def train(self) -> dict[str, Any]:
        """Run one training iteration and return its results.

        All or nothing: an exception or KeyboardInterrupt inside (a refused non-finite
        gradient step, an env that raised) propagates after the iteration is undone: weights,
        optimizer, counters and statistics are as before the call
        (rlkit.algorithms.common.snapshot), and the next call starts fresh episodes.
        """
        start = time.perf_counter()
        threads = self.policy.threads
        threads.refresh()  # "auto": what the machine has free now
        with self._lock, limit_threads(threads.learner()):
            snap = take_snapshot(self)  # one memcpy of the weights: on the limited pool
            try:
                self.engine = self.choose_engine()
                with self._own_rng():
                    stats = self._iteration_steps()
            except BaseException:
                roll_back(self, snap)
                raise
            finally:
                self._sync_weights()
                self.time_total_s += time.perf_counter() - start
        self.iteration += 1
        result = iteration_result(self, stats, start)
        if evaluation_due(self.config, self.iteration):
            result.update(self.evaluate())
        if self.result_logger is not None:
            self.result_logger.on_result(result)
        return result

    def _iteration_steps(self) -> dict[str, float]:
        """training_step() until min_sample_timesteps_per_iteration env steps were sampled.

        It runs at least once; returns the steps' statistics combined by combine_stats.
        """
        first = self.timesteps_total
        steps = []
        while True:
            for group in self.optimizer.param_groups:
                group["lr"] = self.current_lr()
            steps.append(self.training_step())
            done = self.timesteps_total - first
            if done >= self.config["min_sample_timesteps_per_iteration"]:
                return steps[0] if len(steps) == 1 else self.combine_stats(steps)

    def combine_stats(self, steps: list[dict[str, float]]) -> dict[str, float]:
        """One iteration's statistics from several training steps' (their means)."""
        return mean_stats(steps)

    def _sync_weights(self) -> None:
        """Copy the learner's weights to the CPU sampling model (no-op on CPU)."""
        if self.model is not self.policy.model:
            self.policy.model.load_state_dict(self.model.state_dict())

    def compute_single_action(
        self,
        obs: Any,
        state: list | None = None,
        prev_action: Any = None,
        prev_reward: float | None = None,
        explore: bool = False,
    ) -> Any:
        """The action for one raw observation (the filter is applied, not updated).

        Returns the action, or ``(action, state_out, extra)`` when ``state`` is given or the
        model is recurrent (the initial state is created when none is given).

        Safe to call from a notebook while another thread trains (a TrainingDashboard): each
        forward runs with its value_function() under ``Policy.lock``, and the call waits for
        no iteration to end.
        """
        check_single_action_inputs(state, prev_reward)
        # Each path sizes its thread pools itself: Policy.act, Policy.compute_actions.
        return single_action(self, obs, state, prev_action, prev_reward, explore)

    # -- checkpoints (rlkit.algorithms.common.checkpoint) -----------------------------------
    def _boundary_seed(self) -> int:
        base = self.config["seed"] if self.config["seed"] is not None else 0
        return int(base) * 100_003 + self.iteration

    @property
    def logdir(self) -> str:
        """This trainer's results directory (RLlib's ``trainer.logdir``), made on first use.

        It is ``$RLKIT_RESULTS_DIR`` (default ``~/rlkit_results``) /
        ``<Algo>_<env>_<date-time>``.
        """
        if self._logdir is None:
            self._logdir = new_results_dir(type(self).__name__, env_label(self.env_spec))
        return self._logdir

    def save(self, checkpoint_dir: str | None = None) -> str:
        """Write a checkpoint atomically (temp file + rename); returns its path.

        Without a directory (as RLlib's ``trainer.save()``), it writes to
        ``<logdir>/checkpoint_<iteration, 6 digits>``.

        Refuses (ValueError, nothing written) when a weight is NaN or infinite. A simulator's
        internal state cannot go into a checkpoint, so saving starts fresh episodes with a
        seed derived from (seed, iteration); restore() does the same, which makes the next
        train() of the saved and of the restored trainer identical.
        """
        if checkpoint_dir is None:
            checkpoint_dir = os.path.join(self.logdir, f"checkpoint_{self.iteration:06d}")
        with self._lock:  # never in the middle of an iteration (another thread's train())
            path = write_checkpoint(self, checkpoint_dir)
            self.sampler.reset(self._boundary_seed())
        return path

    def restore(self, path: str) -> None:
        """Load a checkpoint written by save() (a file or its directory), all or nothing.

        Loads with ``torch.load(weights_only=True)``, so a checkpoint cannot run code. A
        truncated, corrupted, foreign or incomplete file raises ValueError and leaves the
        trainer as it was.
        """
        with self._lock:
            restore_checkpoint(self, path)

    def stop(self) -> None:
        """Close the envs (the evaluation envs too, the JSON writer and the run's logs)."""
        self.sampler.close()
        if self._evaluator is not None:
            self._evaluator.close()
            self._evaluator = None
        if self.writer is not None:
            self.writer.close()
        if self.result_logger is not None:
            self.result_logger.close()

    def export_policy_model(self, export_dir: str, onnx: int | None = None) -> str:
        """Write the policy's model for use without rlkit (RLlib's name); returns the folder.

        ``export_dir`` gets ``model.pt`` (TorchScript) and ``policy_spec.json`` (the input
        shape, filter statistics and how to turn outputs into an action); with ``onnx=<opset>``
        also ``model.onnx``. Each maps a preprocessed, filtered observation batch
        ``[B, *obs_shape] float32`` to the action distribution's inputs ``[B, num_outputs]``.
        See rlkit.records.export and docs/EXPORT.md.
        """
        from rlkit.records.export import export_policy

        with self._lock:  # never half an update
            return export_policy(self.policy, export_dir, onnx=onnx)
