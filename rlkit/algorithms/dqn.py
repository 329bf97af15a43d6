"""DQN: deep Q-learning with double Q.

Mnih et al. 2015, Nature 518; double Q: van Hasselt et al. 2016, arXiv:1509.06461.

By default the model's outputs ARE the Q-values, one per action: Q(s, .) = model(s) [B, n]
(RLlib's DQN with ``hiddens=[]``, ``dueling=False``); ``hiddens`` / ``dueling`` put RLlib's Q
head over the model (rlkit.algorithms.dqn_head). Key equation, for a replayed transition
(s, a, r, s', terminated):
    a* = argmax_a' Q_online(s', a')          (double Q; plain DQN: argmax of Q_target)
    y  = r + gamma * (1 - terminated) * Q_target(s', a*)
    L  = huber(Q_online(s, a) - y)

Implementation details (numbers referenced in the code; exploration, the replay buffer and the
targets are in rlkit.algorithms.dqn_parts):
1. Epsilon-greedy acting, epsilon decayed linearly from ``initial_epsilon`` to
   ``final_epsilon`` over ``epsilon_timesteps`` env steps. Random actions are uniform over the
   actions the model did not mask: a Q-value <= float32.min / 2 marks an unavailable action
   (the seed's parametric-actions idiom), and is never chosen, greedily or at random.
2. A ring replay buffer of valid rows only (autoreset rows dropped). next_obs of row t is the
   obs of row t + 1 of the same env (for an episode's last step that is the autoreset row,
   whose obs is the final observation) and ``last_obs`` for the last row. Observations are
   stored filtered, as the model saw them when acting.
3. Truncation is not termination: a time-limited transition bootstraps from Q(final obs).
4. The target network is a copy of the model, synced every ``target_network_update_freq``
   env steps; it is part of checkpoints. The replay buffer is NOT checkpointed (it can be
   gigabytes of images): a restored trainer refills it and waits for ``learning_starts``
   transitions again before it learns, acting with the restored epsilon meanwhile.
5. Gradient updates per training step (num_envs x rollout_fragment_length env steps; train()
   repeats training steps until min_sample_timesteps_per_iteration steps, RLlib's 1000): with
   ``training_intensity`` None one update of ``train_batch_size`` transitions per training
   step; with a number, as many updates as keep (replayed transitions) / (sampled env steps)
   at that ratio (RLlib's meaning).
6. Huber loss, gradient-norm clipping (``grad_clip``); ``Model.custom_loss`` and
   ``Model.metrics()`` are honoured as in the on-policy algorithms.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlkit.algorithms.algorithm_config import DQNConfig  # noqa: F401  (RLlib's dqn.DQNConfig)
from rlkit.algorithms.base import Algorithm, full_default_config
from rlkit.algorithms.config.keys import COMMON_KEYS, Key, defaults, override, table
from rlkit.algorithms.dqn_head import build_q_model
from rlkit.algorithms.dqn_parts import (  # re-exported: rlkit.algorithms.dqn names them too
    EXPLORATION_DEFAULTS,
    ReplayBuffer,
    epsilon_at,
    epsilon_greedy,
    exploration_settings,
    q_targets,
    replay_rows,
)
from rlkit.algorithms.onpolicy import NO_INPUT
from rlkit.engines.learner import model_metrics
from rlkit.preprocessors import restore_original_dimensions


class DQN(Algorithm):
    """DQN with a replay buffer, a target network and epsilon-greedy exploration.

    Config keys: ``DQN.KEYS`` below, on top of the common ones (rlkit.algorithms.config.keys;
    every key with its default: docs/CONFIG.md). One training step samples
    num_envs x rollout_fragment_length = 16 env steps and learns (detail 5); train() repeats
    that until min_sample_timesteps_per_iteration (1000, RLlib's) steps were sampled.

    ``compute_single_action(obs)`` returns the greedy action (argmax Q).
    """

    KEYS = (
        Key("gamma", 0.99, "discount factor", "float", 0, 1),
        Key("train_batch_size", 64, "replayed transitions per gradient update", "int", 1),
        Key("buffer_size", 50_000, "replay capacity in transitions", "int", 1),
        Key("learning_starts", 1_000, "transitions in the buffer before learning", "int", 0),
        Key(
            "target_network_update_freq",
            500,
            "env steps between target network syncs",
            "int",
            1,
        ),
        Key("double_q", True, "double Q-learning targets", "bool"),
        Key(
            "hiddens",
            [],
            "RLlib's Q head: relu layers over the model's output (rlkit.algorithms.dqn_head; "
            "[]: the model's outputs are the Q-values; RLlib's default [256])",
            "ints",
        ),
        Key(
            "dueling",
            False,
            "RLlib's dueling head, Q = V + A - mean(A) (RLlib's default True)",
            "bool",
        ),
        Key(
            "training_intensity",
            None,
            "replayed / sampled transitions (None: one update per training step)",
            "float",
            0,
            low_open=True,
            none=True,
        ),
        Key(
            "exploration_config",
            {},
            "epsilon-greedy schedule: "
            + ", ".join(f"{k} ({v!r})" for k, v in EXPLORATION_DEFAULTS.items()),
            "dict",
            check_nested=exploration_settings,
        ),
        override(COMMON_KEYS["num_envs"], default=4),
        override(COMMON_KEYS["rollout_fragment_length"], default=4),
        override(COMMON_KEYS["min_sample_timesteps_per_iteration"], default=1_000),
        override(COMMON_KEYS["lr"], default=5e-4),
        override(COMMON_KEYS["grad_clip"], default=10.0),
    )
    NOT_KEYS = {"input": NO_INPUT}
    DEFAULT_CONFIG: dict[str, Any] = defaults(table(KEYS))
    needs_value = False

    def validate(self) -> None:
        """Check and keep the exploration settings."""
        self.exploration = exploration_settings(self.config["exploration_config"])

    def check_policy(self) -> None:
        """DQN needs one Q-value per Discrete action from a feed-forward model."""
        space = self.policy.action_space
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(
                f"DQN needs a Discrete action space (one Q-value per action) but this env's "
                f"action space is {space}; use PPO, A2C or PG for it"
            )
        cfg = self.policy.model_config
        if cfg["custom_action_dist"]:
            raise ValueError(
                f"DQN reads the model's outputs as Q-values and acts epsilon-greedily, so it "
                f"cannot use custom_action_dist '{cfg['custom_action_dist']}'; remove it from "
                f"the model config, or use PPO, A2C or PG"
            )
        if cfg["use_lstm"] or self.policy.is_recurrent():
            raise ValueError(
                f"DQN learns from single replayed transitions and cannot train a recurrent "
                f"model ({type(self.policy.model).__name__}); set use_lstm False and use a "
                f"feed-forward model, or use PPO, A2C or PG"
            )
        if self.config["hiddens"] or self.config["dueling"]:  # RLlib's Q head (dqn_head)
            self.policy.model = build_q_model(
                self.policy, self.config["hiddens"], self.config["dueling"]
            )

    def setup(self) -> None:
        """The replay buffer, the target network and the update counters."""
        self.buffer = ReplayBuffer(
            self.config["buffer_size"], self.policy.preprocessor.shape, self.policy.obs_dtype
        )
        self.target_model = copy.deepcopy(self.model).requires_grad_(False)
        self.last_target_update = 0  # timesteps_total at the last sync (detail 4)
        self.update_credit = 0.0  # fractional updates owed by training_intensity (detail 5)
        self.epsilon = self.current_epsilon()

    def current_epsilon(self) -> float:
        """Epsilon at timesteps_total: linear from initial to final over epsilon_timesteps."""
        e = self.exploration
        return epsilon_at(
            self.timesteps_total, e["initial_epsilon"], e["final_epsilon"], e["epsilon_timesteps"]
        )

    def explore_actions(
        self, obs_batch: Any, *args: Any, explore: bool = True, **kwargs: Any
    ) -> tuple[Any, list, dict[str, Any]]:
        """Policy.compute_actions with epsilon-greedy actions (detail 1), same arguments."""
        epsilon = self.epsilon if explore else 0.0
        return self.policy.compute_actions(
            obs_batch,
            *args,
            explore=explore,
            choose=lambda q: epsilon_greedy(q, epsilon),  # q: [B, n] model outputs
            **kwargs,
        )

    def action_fn(self):
        """compute_single_action explores epsilon-greedily, as sampling does."""
        return self.explore_actions

    def exploration_state(self) -> dict[str, Any]:
        """Remote env runners explore with the driver's current epsilon."""
        return {"epsilon": self.epsilon}

    @staticmethod
    def runner_actions(policy: Any, exploration: dict[str, Any]):
        """explore_actions on a remote runner's policy copy, with the driver's epsilon."""
        epsilon = exploration["epsilon"]
        return functools.partial(
            policy.compute_actions, choose=lambda q: epsilon_greedy(q, epsilon)
        )

    def num_updates(self, sampled: int) -> int:
        """Gradient updates owed for ``sampled`` new env steps (detail 5)."""
        intensity = self.config["training_intensity"]
        if intensity is None:
            return 1
        self.update_credit += intensity * sampled / self.config["train_batch_size"]
        n = int(self.update_credit)
        self.update_credit -= n
        return n

    def training_step(self) -> dict[str, float]:
        """Sample epsilon-greedily into the buffer, then the updates owed (detail 5)."""
        self.epsilon = self.current_epsilon()
        before = self.timesteps_total
        batch = self.sample(compute_actions=self.explore_actions)
        self.buffer.add(replay_rows(batch))  # detail 2
        learning = len(self.buffer) >= max(self.config["learning_starts"], 1)
        updates = self.num_updates(self.timesteps_total - before) if learning else 0
        stats = self.learn(updates)
        freq = self.config["target_network_update_freq"]
        if self.timesteps_total - self.last_target_update >= freq:  # detail 4
            self.target_model.load_state_dict(self.model.state_dict())
            self.last_target_update = self.timesteps_total
        stats.update(epsilon=self.epsilon, num_updates=updates, replay_size=len(self.buffer))
        return stats

    def combine_stats(self, steps: list[dict[str, float]]) -> dict[str, float]:
        """An iteration of several training steps: losses averaged over all its updates.

        Updates are summed; epsilon and replay size are as they are at the end.
        """
        out = super().combine_stats(steps)
        updates = [s["num_updates"] for s in steps]
        total = sum(updates)
        for key in ("loss", "mean_q", "mean_td_error"):
            weighted = sum(s[key] * n for s, n in zip(steps, updates) if n)
            out[key] = weighted / total if total else float("nan")
        out.update(num_updates=total, epsilon=steps[-1]["epsilon"])
        out["replay_size"] = steps[-1]["replay_size"]
        return out

    def learn(self, updates: int) -> dict[str, float]:
        """``updates`` gradient steps on replayed minibatches; mean statistics (NaN for none)."""
        sums = {"loss": 0.0, "mean_q": 0.0, "mean_td_error": 0.0}
        for _ in range(updates):
            for k, v in self.update(self.buffer.sample(self.config["train_batch_size"])).items():
                sums[k] += v
        stats = {k: v / updates if updates else float("nan") for k, v in sums.items()}
        if updates:
            stats.update(model_metrics(self.model))
        return stats

    def update(self, rows: dict[str, np.ndarray]) -> dict[str, float]:
        """One gradient step on replayed transitions (module equation, details 3 and 6)."""
        mb = {k: torch.as_tensor(v, device=self.device) for k, v in rows.items()}
        stats = self.engine.step(self.learner, mb)
        return {
            "loss": float(stats["total_loss"]),
            "mean_q": stats["mean_q"],
            "mean_td_error": stats["mean_td_error"],
        }

    def step_loss(self, mb: dict[str, Any]) -> tuple[torch.Tensor, dict, dict[str, Any]]:
        """The Huber TD loss on replayed transitions ``mb``: (loss, statistics, loss_inputs)."""
        for key in ("obs", "next_obs"):  # uint8 frames are scaled here, on the device
            mb[key] = self.model.decode_obs(mb[key])
        with torch.no_grad():
            q_next_target, _ = self.target_model({"obs": mb["next_obs"]}, [], None)  # [B, n]
            q_next_online = (
                self.model({"obs": mb["next_obs"]}, [], None)[0]
                if self.config["double_q"]
                else None
            )
            target = q_targets(
                mb["rewards"], mb["terminated"], q_next_target, self.config["gamma"], q_next_online
            )
        q, _ = self.model({"obs": mb["obs"], "is_training": True}, [], None)  # [B, n]
        q_taken = q.gather(1, mb["actions"][:, None])[:, 0]  # [B, 1] -> [B]
        td_error = q_taken - target
        loss = F.huber_loss(q_taken, target, delta=1.0)
        loss_inputs = {
            **mb,
            "obs": restore_original_dimensions(mb["obs"], self.model.obs_space),
            "obs_flat": mb["obs"].reshape(mb["obs"].shape[0], -1),  # [B, *shape] -> [B, F]
            "q_values": q,
            "q_targets": target,
            "td_error": td_error.detach(),
        }
        stats = {
            "mean_q": float(q_taken.detach().mean()),
            "mean_td_error": float(td_error.detach().mean()),
        }
        return loss, stats, loss_inputs

    def extra_state(self) -> dict[str, Any]:
        """The target network and the update counters, for checkpoints."""
        return {
            "target_model": self.target_model.state_dict(),
            "last_target_update": self.last_target_update,
            "update_credit": self.update_credit,
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Load what extra_state() returned."""
        self.target_model.load_state_dict(state["target_model"])
        self.last_target_update = int(state["last_target_update"])
        self.update_credit = float(state["update_credit"])


# RLlib's module-level names (``from ray.rllib.agents import dqn; dqn.DQNTrainer(...)``):
# the trainer class, and the full default config (common keys included), a fresh copy per
# import so that editing it cannot change the class's defaults.
DQNTrainer = DQN
DEFAULT_CONFIG: dict[str, Any] = full_default_config(DQN)
