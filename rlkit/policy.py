"""Policy: runs the pipeline Preprocessor -> Filter -> Model -> ActionDistribution on raw obs.

A trainer owns one Policy. Sampling calls ``compute_actions`` on a batch of raw observations
from a vector env; notebooks and widgets call ``trace`` to see every stage for one observation.

Action layouts (what ``compute_actions`` returns in ``extra["actions"]`` and what the learner
passes back to ``dist.logp``):

    Discrete         int64  [B]
    MultiDiscrete    int64  [B, len(nvec)]
    Box              float32[B, *shape]   (unclipped; the env gets a copy clipped to the bounds)
    Tuple / Dict     float32[B, F]        leaves flattened in canonical order (Dict keys sorted),
                                          one column per Discrete leaf
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.catalog import ModelCatalog
from rlkit.engines import Acting, select_engine
from rlkit.engines.torch_engine import (
    VALUE_CHUNK_BYTES,
    flatten_actions,
    model_input,
    trim_heap,
)
from rlkit.filters import NoFilter
from rlkit.models.checks import dummy_input_dict
from rlkit.spaces import build_nested, leaf_paths
from rlkit.trace import Explanation, Stage, explain_components, trace_policy
from rlkit.utils.config import check_keys
from rlkit.utils.threads import ThreadBudget, count_macs, limit_threads

POLICY_KEYS = ("model", "observation_filter", "num_threads", "engine")


class Policy:
    """Preprocessor, filter, model and distribution assembled for one env's spaces.

    Args:
        observation_space: the env's (raw) observation space.
        action_space: the env's action space.
        config: ``{"model": {...}, "observation_filter": "NoFilter" | "MeanStdFilter",
            "num_threads": "auto", "engine": "torch"}`` (threads of every pool while the
            policy acts: rlkit.utils.threads; what runs the model: rlkit.engines).

    Attributes: preprocessor, filter, model, dist_class, num_outputs, model_config;
    ``byte_scale``: a ``rlkit.preprocessors.ByteScale`` when image observations are kept as
    uint8 frames in batches (no filter, frames that need only scaling; the model scales them
    as they come in, ``Model.decode_obs``), else None.
    """

    def __init__(
        self, observation_space: gym.Space, action_space: gym.Space, config: dict | None = None
    ):
        config = dict(config or {})
        check_keys(config, POLICY_KEYS, "policy config")
        parts = ModelCatalog.assemble(
            observation_space,
            action_space,
            config.get("model"),
            config.get("observation_filter", "NoFilter"),
        )
        self.observation_space = observation_space
        self.action_space = action_space
        self.model_config = parts.model_config
        self.preprocessor = parts.preprocessor
        self.filter_name = parts.filter_name
        self.filter = parts.filter
        self.dist_class, self.num_outputs = parts.dist_class, parts.num_outputs
        frames_only_scale = getattr(self.preprocessor, "byte_scale", None)
        self.byte_scale = frames_only_scale if isinstance(self.filter, NoFilter) else None
        self.model = parts.model
        self._leaves = leaf_paths(action_space)
        # What the env side did before observation_space (a trainer sets it: Atari's DeepMind
        # preprocessing); explain() prints it first.
        self.env_note = ""
        # A model caches its forward's features for value_function(): a forward and the
        # value_function() that reads its cache run under this lock, so a notebook calling
        # compute_single_action while a dashboard trains in a thread cannot interleave them.
        self.lock = threading.RLock()
        # What runs the model, torch by default (rlkit.engines); a trainer replaces it with
        # the one it chose for acting and learning together.
        self.engine = select_engine(config.get("engine", "torch"), self.acting)
        self.action_shape, self.action_dtype, macs = self._probe_action_layout()
        # Threads of each call (rlkit.utils.threads): "auto" sizes them by the model's work per
        # row; a trainer tells the budget its minibatch and env counts.
        self.threads = ThreadBudget(config.get("num_threads", "auto"), macs)

    @property
    def num_threads(self) -> int | str:
        """The ``num_threads`` setting ("auto" or an int); ``threads`` applies it per call."""
        return self.threads.setting

    @property
    def model(self) -> Any:
        """The model; one assigned later (DQN's Q head) is told how frames are stored too."""
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        model.byte_scale = self.byte_scale
        self._model = model

    @property
    def acting(self) -> Acting:
        """What an engine needs to act for this policy: model, distribution class, lock."""
        return Acting(self._model, self.dist_class, self.lock)

    def __getstate__(self) -> dict[str, Any]:
        """Pickling and deepcopy leave the lock out (it cannot be copied); a copy gets its own."""
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()

    def _probe_action_layout(self) -> tuple[tuple, np.dtype, float]:
        """Per-row shape and dtype of learner-layout actions, from one sample on zeros.

        Also the model's multiply-adds per row (forward and value), counted on the way.
        """
        input_dict = dummy_input_dict(
            self.model, self.preprocessor.observation_space, self.action_space, batch=1
        )
        state = self.get_initial_state(1)
        seq_lens = torch.ones(1, dtype=torch.long) if state else None
        out = {}

        def run() -> None:
            out["dist_inputs"], _ = self.model(input_dict, state, seq_lens)
            with contextlib.suppress(NotImplementedError):  # a model without a critic
                self.model.value_function()  # its own tower's work counts too

        with torch.inference_mode():
            macs = count_macs(self.model, run)
            flat = self.flatten_actions(self.dist_class(out["dist_inputs"], self.model).sample())
        return tuple(flat.shape[1:]), flat.cpu().numpy().dtype, macs

    # -- the hot path: one batch of raw observations -> actions --------------------------------
    @property
    def device(self) -> torch.device:
        """Where the model's parameters live."""
        return self.model._device()  # cached by the model (it runs at every env step)

    def is_recurrent(self) -> bool:
        """Whether the model carries state between steps."""
        return len(self.model.get_initial_state()) > 0

    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        """Initial recurrent state, each tensor [batch_size, ...] ([] for feed-forward).

        Without ``batch_size`` (RLlib's ``policy.get_initial_state()``): one state, each
        tensor ``[...]`` without a batch axis, as ``compute_single_action(state=...)`` takes.
        """
        states = self.model.initial_state_tensors()
        if batch_size is None:
            return [s.clone() for s in states]
        return [s.unsqueeze(0).repeat(batch_size, *([1] * s.dim())) for s in states]

    @property
    def obs_dtype(self) -> type:
        """The dtype of observations in batches: uint8 (frames, see byte_scale) or float32."""
        return np.uint8 if self.byte_scale is not None else np.float32

    def preprocess(self, obs_batch: Any, update_filter: bool = True) -> np.ndarray:
        """Raw vector-env observations -> filtered [B, *preprocessor.shape], as batches hold them.

        float32, or the uint8 frames themselves when ``byte_scale`` is set.
        """
        return self._preprocess(obs_batch, update_filter)[1]

    def _preprocess(self, obs_batch: Any, update_filter: bool) -> tuple[np.ndarray, np.ndarray]:
        """(preprocessed, filtered) of raw observations; one array twice for uint8 frames."""
        if self.byte_scale is not None:
            frames = self.preprocessor.frames(obs_batch)  # checked, kept as bytes
            return frames, frames
        x = self.preprocessor.transform_batch(obs_batch)
        return x, self.filter(x, update=update_filter)

    def from_stored(self, rows: Any, update_filter: bool = False) -> np.ndarray:
        """Preprocessed observations as stored (offline data, batches) -> what the model takes.

        float32 rows go through the filter. uint8 rows are frames kept unscaled: they stay so
        when this policy keeps frames too, else they are scaled by the preprocessor first.
        """
        rows = np.asarray(rows)
        if rows.dtype == np.uint8 and self.byte_scale is None:
            rows = self.preprocessor.transform_batch(rows)
        if rows.dtype == np.uint8:
            return rows
        return self.filter(rows, update=update_filter)

    def input_dict(
        self,
        obs: np.ndarray | torch.Tensor,
        prev_actions: Any = None,
        prev_rewards: Any = None,
        is_training: bool = False,
    ) -> dict[str, Any]:
        """The model's input_dict for filtered obs [N, *shape] (on the model's device).

        ``obs`` as batches hold them: float32, or uint8 frames, scaled here (byte_scale).
        See rlkit.engines.torch_engine.model_input.
        """
        return model_input(self.model, obs, prev_actions, prev_rewards, is_training)

    def compute_actions(
        self,
        obs_batch: Any,
        state: list | None = None,
        prev_actions: Any = None,
        prev_rewards: Any = None,
        explore: bool = True,
        update_filter: bool = True,
        with_value: bool = False,
        choose: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> tuple[Any, list, dict[str, Any]]:
        """Actions for a batch of raw observations.

        Args:
            obs_batch: raw observations in vector-env layout (leading batch axis B).
            state: recurrent state, list of [B, ...] tensors (None -> initial state).
            prev_actions: [B, ...] previous actions, for lstm_use_prev_action.
            prev_rewards: [B] previous rewards, for lstm_use_prev_reward.
            explore: sample (True) or take the distribution's deterministic action.
            update_filter: grow the observation filter's statistics (False when evaluating).
            with_value: also return the model's value estimates as extra["vf_preds"] [B].
            choose: replaces the distribution: ``choose(model_outputs [B, n]) -> (actions,
                logp)`` (DQN's epsilon-greedy over Q-values).

        Returns:
            env_actions: actions in the env's layout (numpy; Box clipped to its bounds).
            state_out: list of [B, ...] tensors.
            extra: {"obs": filtered [B, *shape], "unfiltered_obs": preprocessed [B, *shape]
                    (both float32, or one uint8 array of frames: see byte_scale),
                    "actions": learner layout (see module doc),
                    "action_logp": [B], "action_dist_inputs": [B, num_outputs]}
        """
        with limit_threads(self.threads.acting()):
            unfiltered, obs = self._preprocess(obs_batch, update_filter)
            if state is None:
                state = self.get_initial_state(obs.shape[0])
            out = self.engine.actions(
                self.acting, obs, state, (prev_actions, prev_rewards), explore, with_value, choose
            )
            extra = {
                "obs": obs,
                "unfiltered_obs": unfiltered,
                "actions": out.actions,
                "action_logp": out.logp,
                "action_dist_inputs": out.dist_inputs,
            }
            if with_value:
                extra["vf_preds"] = out.values
            return self.to_env_actions(out.actions), out.state_out, extra

    def act(self, obs_batch: Any, explore: bool = False, rng: Callable | None = None) -> Any:
        """Env actions alone for a feed-forward model: no extras, filter unchanged.

        This is what compute_single_action runs, where every microsecond is the user's wait.

        Args:
            obs_batch: raw observations in vector-env layout (leading batch axis B).
            explore: sample (True) or take the distribution's deterministic action.
            rng: a context manager factory entered around whatever may draw random numbers
                (a trainer's own RNG stream); the numpy engine's greedy action draws none.
        """
        with limit_threads(self.threads.for_rows(1), blas=False):  # one row: rlkit.utils.threads
            obs = self._preprocess(obs_batch, update_filter=False)[1]
            return self.to_env_actions(self.engine.act(self.acting, obs, explore, rng))

    def compute_values(
        self, obs: np.ndarray, prev_actions: Any = None, prev_rewards: Any = None
    ) -> np.ndarray:
        """Values [N] float32 of a feed-forward model.

        Args:
            obs: filtered observations [N, *shape].
            prev_actions: [N, ...] previous actions, for models that read them.
            prev_rewards: [N] previous rewards, for models that read them.
        """
        rows = len(obs) if hasattr(obs, "__len__") else self.threads.acting_rows
        with limit_threads(self.threads.for_rows(rows)):
            values = self.engine.values(self.acting, obs, (prev_actions, prev_rewards))
        if getattr(obs, "nbytes", 0) >= VALUE_CHUNK_BYTES:  # a rollout of frames
            trim_heap()  # the chunks' freed tensors go back to the OS before the learner runs
        return values

    def pin_engine(self):
        """A context manager for a rollout: the engine checks the model once, on entry.

        Without it the engine checks before every step (see
        rlkit.engines.numpy.engine.NumpyEngine.pinned).
        """
        return self.engine.pinned(self.model)

    # -- action layouts -----------------------------------------------------------------------
    def flatten_actions(self, actions: Any) -> torch.Tensor:
        """Sampled actions (tensor or nested) -> the learner layout of the module docstring."""
        return flatten_actions(actions)

    def to_env_actions(self, flat: torch.Tensor | np.ndarray) -> Any:
        """Learner-layout actions [B, ...] -> numpy actions the vector env accepts."""
        space = self.action_space
        arr = flat.cpu().numpy() if isinstance(flat, torch.Tensor) else flat
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():  # never send NaN to env.step
            rows = np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))
            raise ValueError(
                f"model {type(self.model).__name__} produced non-finite actions (NaN or "
                f"infinity in batch row(s) {rows.tolist()}) from finite observations; check "
                f"the model's forward (and custom distribution) for log(0), division by 0 or "
                f"overflow"
            )
        if isinstance(space, gym.spaces.Box):
            return np.clip(arr.reshape(arr.shape[0], *space.shape), space.low, space.high).astype(
                space.dtype, copy=False
            )
        if isinstance(
            space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
        ):
            return arr.astype(np.int64, copy=False)
        leaves, col = [], 0
        for _, leaf in self._leaves:
            width = 1 if isinstance(leaf, gym.spaces.Discrete) else int(np.prod(leaf.shape))
            part = arr[:, col : col + width]
            col += width
            if isinstance(leaf, gym.spaces.Box):
                part = np.clip(part.reshape(-1, *leaf.shape), leaf.low, leaf.high).astype(
                    leaf.dtype
                )
            elif isinstance(leaf, gym.spaces.Discrete):
                part = part[:, 0].astype(np.int64)
            else:
                part = part.astype(np.int64).reshape(-1, *leaf.shape)
            leaves.append(part)
        return build_nested(space, leaves)

    # -- teaching: every stage for one observation (the code is in rlkit/trace.py) ----------
    def trace(
        self,
        obs: Any,
        state: list | None = None,
        explore: bool = False,
        prev_action: Any = None,
        prev_reward: float = 0.0,
    ) -> list[Stage]:
        """Run one raw observation through every stage and return what each produced.

        Stage names, in order: env, preprocessor, filter, model, distribution, action. The
        filter is applied without updating its statistics, so tracing changes nothing. See
        ``rlkit.trace.trace_policy``.
        """
        with self.lock:
            return trace_policy(self, obs, state, explore, prev_action, prev_reward)

    def explain(self) -> Explanation:
        """What was built for these spaces and why, with the shape at each stage."""
        return explain_components(self)

    # -- state for checkpoints ----------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The model's weights and the filter's statistics, for a checkpoint."""
        return {"model": self.model.state_dict(), "filter": self.filter.get_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Load what get_state() returned."""
        self.model.load_state_dict(state["model"])
        self.filter.set_state(state["filter"])

    def export_checkpoint(self, export_dir: str, filename_prefix: str = "policy_state") -> str:
        """RLlib's ``policy.export_checkpoint(dir)``: get_state() written atomically.

        Writes ``export_dir/<filename_prefix>.pt`` (weights and filter statistics, loadable
        with ``torch.load(path, weights_only=True)``); load it into a policy of the same
        spaces and model config with ``policy.set_state(...)``. Returns the path.
        """
        os.makedirs(export_dir, exist_ok=True)
        path = os.path.join(export_dir, f"{filename_prefix}.pt")
        fd, tmp = tempfile.mkstemp(dir=export_dir, prefix=".policy-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(self.get_state(), f)
            os.replace(tmp, path)
        except BaseException:
            os.remove(tmp)
            raise
        return path
