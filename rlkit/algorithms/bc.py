"""BC: behaviour cloning, supervised learning of an expert's actions from offline data.

Pomerleau 1991, "Efficient training of artificial neural networks for autonomous navigation".

Key equation, for (s, a) pairs of a dataset D written by another trainer's ``output``:
    L = -E_{(s, a) ~ D}[ log pi(a | s) ]
The loss is the action distribution's own ``logp``, so one BC works for every action space
its distribution supports (Categorical, DiagGaussian, ...).

Implementation details (numbers referenced in the code):
1. ``config["input"]`` (a file, glob, directory or list) is read whole with JsonReader when the
   trainer is built; stored obs must have the policy's preprocessed shape.
2. The data holds unfiltered observations. The observation filter (e.g. MeanStdFilter) is
   fitted once on the whole dataset when the trainer is built and frozen afterwards: training
   and evaluation normalise alike. A restored checkpoint brings its own filter statistics.
3. Each ``train()``: ``num_sgd_iter`` gradient steps, each on ``sgd_minibatch_size`` rows
   drawn uniformly with replacement by torch's (seeded, checkpointed) RNG.
4. Then an evaluation rollout of ``rollout_fragment_length`` steps per env, deterministic
   unless ``explore`` is True, so ``episode_reward_mean`` says how well the clone plays.
   Those env steps are counted in ``timesteps_total`` but never trained on;
   ``num_samples_trained`` counts the dataset rows the gradient steps used.
5. ``Model.custom_loss`` and ``Model.metrics()`` are honoured as in the other algorithms.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.algorithms.algorithm_config import BCConfig  # noqa: F401  (RLlib's bc.BCConfig)
from rlkit.algorithms.base import Algorithm, full_default_config
from rlkit.algorithms.config.keys import COMMON_KEYS, Key, defaults, override, table
from rlkit.engines.learner import model_metrics
from rlkit.offline import JsonReader
from rlkit.preprocessors import restore_original_dimensions
from rlkit.utils.seeding import generator


class BC(Algorithm):
    """Behaviour cloning from the JSON lines named by ``input`` (required).

    Config keys: ``BC.KEYS`` below, on top of the common ones (rlkit.algorithms.config.keys; every
    key with its default: docs/CONFIG.md).
    """

    KEYS = (
        Key(
            "input",
            None,
            "the expert data: JSON lines written by a trainer's output (required)",
            "paths",
            none=True,
        ),
        Key(
            "num_sgd_iter",
            100,
            "gradient steps per iteration (not epochs: datasets vary in size)",
            "int",
            1,
        ),
        Key("sgd_minibatch_size", 256, "dataset rows per gradient step", "int", 1),
        Key("explore", False, "sample actions in the evaluation rollout", "bool"),
        override(
            COMMON_KEYS["rollout_fragment_length"],
            default=64,
            doc="evaluation steps each env takes per iteration (detail 4)",
        ),
        override(COMMON_KEYS["lr"], default=1e-3),
    )
    NOT_KEYS = {
        "train_batch_size": "BC takes num_sgd_iter gradient steps of sgd_minibatch_size "
        "dataset rows per iteration: set those",
        "gamma": "BC learns no values, so it has no discount: remove gamma",
    }
    DEFAULT_CONFIG: dict[str, Any] = defaults(table(KEYS))
    needs_value = False

    def check_policy(self) -> None:
        """Check the config and load the data (detail 1) before any env is started."""
        c = self.config
        if not c["input"]:
            raise ValueError(
                "BC needs offline data: set config['input'] to a .jsonl file, glob or "
                "directory written by another trainer's config['output'], e.g. first run "
                "PPO(env=..., config={'output': 'expert-data'}), then BC(config={'input': "
                "'expert-data'})"
            )
        if self.policy.is_recurrent():
            raise ValueError(
                f"BC trains on single rows and cannot train a recurrent model "
                f"({type(self.policy.model).__name__}); set use_lstm False"
            )
        self.reader = JsonReader(c["input"])
        data = self.reader.read_all()
        self.obs, self.actions = data["obs"], self._checked_actions(data["actions"])
        expected = tuple(self.policy.preprocessor.shape)
        if self.obs.dtype == np.uint8:  # frames written unscaled: the env's own frames
            expected = tuple(self.policy.observation_space.shape)
        if tuple(self.reader.obs_shape) != expected:
            raise ValueError(
                f"BC input {c['input']!r} holds observations of shape "
                f"{list(self.reader.obs_shape)} but this env's preprocessor "
                f"({type(self.policy.preprocessor).__name__}) makes {list(expected)}; record "
                f"the data on the same env with the same model preprocessing options"
            )

    def _checked_actions(self, actions: np.ndarray) -> np.ndarray:
        """Stored actions in the policy's learner layout [N, *action_shape], or a clear error."""
        shape = tuple(self.policy.action_shape)
        if tuple(actions.shape[1:]) != shape:
            raise ValueError(
                f"BC input {self.config['input']!r} holds actions of shape "
                f"{list(actions.shape[1:])} per row, but the action space "
                f"{self.policy.action_space} uses {list(shape)}; record the data on this env"
            )
        space = self.policy.action_space
        high = (
            np.array([space.n])
            if isinstance(space, gym.spaces.Discrete)
            else np.asarray(space.nvec).reshape(-1)
            if isinstance(space, gym.spaces.MultiDiscrete)
            else None
        )
        if high is not None:  # one of high[i] choices per column: integers in [0, high)
            cols = actions.reshape(len(actions), -1)  # [N, k]
            bad = (cols < 0) | (cols >= high) | (cols != np.round(cols))
            if bad.any():
                row = int(np.flatnonzero(bad.any(axis=1))[0])
                bounds = high[0] if len(high) == 1 else high.tolist()
                raise ValueError(
                    f"{self.reader.where(row)}: action {actions[row].tolist()} is not in the "
                    f"action space {space} (integers in [0, {bounds})); record the "
                    f"data on this env, or fix the file"
                )
        return actions.astype(self.policy.action_dtype)

    def setup(self) -> None:
        """Fit the observation filter to the dataset once (detail 2)."""
        # detail 2: fit the filter once, frozen afterwards
        self.policy.from_stored(self.obs, update_filter=True)
        self.num_samples_trained = 0

    def evaluation_actions(self, obs_batch: Any, *args: Any, **kwargs: Any) -> tuple:
        """Policy.compute_actions with the filter frozen and ``explore`` from the config."""
        kwargs.update(explore=self.config["explore"], update_filter=False)
        return self.policy.compute_actions(obs_batch, *args, **kwargs)

    def training_step(self) -> dict[str, float]:
        """Take num_sgd_iter minibatch steps on -logp of the expert's actions (detail 3)."""
        sums: dict[str, float] = {}
        steps = self.config["num_sgd_iter"]
        for _ in range(steps):  # detail 3
            size = (self.config["sgd_minibatch_size"],)
            index = torch.randint(0, len(self.obs), size, generator=generator())
            for k, v in self.update(index.numpy()).items():
                sums[k] = sums.get(k, 0.0) + v
        self.num_samples_trained += steps * self.config["sgd_minibatch_size"]
        self.sample(compute_actions=self.evaluation_actions)  # detail 4
        stats = {k: v / steps for k, v in sums.items()}
        stats.update(model_metrics(self.model))
        stats["num_samples_trained"] = self.num_samples_trained
        return stats

    def update(self, index: np.ndarray) -> dict[str, float]:
        """One gradient step on the dataset rows ``index`` [M] (detail 5)."""
        obs_np = self.policy.from_stored(self.obs[index])  # [M, *obs_shape]
        mb = {
            "obs": self.model.decode_obs(obs_np),  # uint8 frames are scaled here, on the device
            "actions": torch.as_tensor(self.actions[index], device=self.device),  # [M, ...]
        }
        stats = self.engine.step(self.learner, mb)
        stats["total_loss"] = float(stats["total_loss"])
        return stats

    def step_loss(self, mb: dict[str, Any]) -> tuple[torch.Tensor, dict, dict[str, Any]]:
        """-logp of the expert's actions ``mb["actions"]``: (loss, statistics, loss_inputs)."""
        obs, actions = mb["obs"], mb["actions"]
        logits, _ = self.model({"obs": obs, "is_training": True}, [], None)
        dist = self.policy.dist_class(logits, self.model)
        bc_loss = -dist.logp(actions).mean()
        loss_inputs = {
            "obs": restore_original_dimensions(obs, self.model.obs_space),
            "obs_flat": obs.reshape(obs.shape[0], -1),  # [M, *obs_shape] -> [M, F]
            "actions": actions,
        }
        stats = {"bc_loss": float(bc_loss.detach())}
        if isinstance(self.policy.action_space, gym.spaces.Discrete):
            with torch.no_grad():
                agree = (dist.deterministic_sample() == actions).float().mean()
            stats["accuracy"] = float(agree)
        return bc_loss, stats, loss_inputs

    def extra_state(self) -> dict[str, Any]:
        """The count of dataset rows trained on, for checkpoints."""
        return {"num_samples_trained": self.num_samples_trained}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Load what extra_state() returned."""
        self.num_samples_trained = int(state["num_samples_trained"])


# RLlib's module-level names (``from ray.rllib.agents import bc; bc.BCTrainer(...)``):
# the trainer class, and the full default config (common keys included), a fresh copy per
# import so that editing it cannot change the class's defaults.
BCTrainer = BC
DEFAULT_CONFIG: dict[str, Any] = full_default_config(BC)
