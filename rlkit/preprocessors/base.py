"""The base classes every preprocessor builds on.

``Preprocessor`` is what a custom preprocessor subclasses (``_init_shape`` and ``transform``);
``_LeafPreprocessor`` is the built-ins' base for one plain space: it checks the input's dtype and
shape once per batch and hands the batch to ``_compute``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.spaces import (
    build_nested,
    get_at,
    leaf_paths,
    path_str,
)
from rlkit.utils.config import merge_model_config


class Preprocessor:
    """Base class: one raw observation in, one float32 array of ``self.shape`` out.

    Args:
        obs_space: the environment's observation space.
        options: the model config (see ``rlkit.utils.config.MODEL_DEFAULTS``); ``None`` means the
            defaults. Checked and merged with the defaults, then kept in ``self._options``.
        path: where ``obs_space`` sits inside a nested observation (names errors).

    Attributes:
        shape: output shape of one observation, from ``_init_shape``.
        size: number of output values, ``prod(shape)``.
        observation_space: float32 ``Box`` of ``shape``, what the model sees. It carries
            ``original_space`` (the raw space) so models can recover the nested layout.
    """

    def __init__(self, obs_space: gym.Space, options: dict | None = None, *, path: tuple = ()):
        self._obs_space = obs_space
        self._options = merge_model_config(options)
        self._path = tuple(path)
        self.shape = tuple(int(d) for d in self._init_shape(obs_space, self._options))
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.observation_space = self._make_observation_space()

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        """Return the output shape for one observation of ``obs_space``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement _init_shape(obs_space, options) returning the "
            "shape of one preprocessed observation"
        )

    def transform(self, observation: Any) -> np.ndarray:
        """Preprocess one observation into a float32 array of ``self.shape``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement transform(observation) returning an array "
            f"of shape {self.shape}"
        )

    def transform_batch(self, observations: Any) -> np.ndarray:
        """Preprocess a batch, one ``transform`` call per observation.

        Args:
            observations: gymnasium vector-env layout: an array ``[B, *raw_shape]``, or for
                a Tuple/Dict space a tuple/dict of such arrays.

        Returns:
            float32 array ``[B, *shape]``.
        """
        leaves = [np.asarray(get_at(observations, p)) for p, _ in leaf_paths(self._obs_space)]
        batch_size = len(leaves[0])
        out = np.empty((batch_size, *self.shape), dtype=np.float32)
        for i in range(batch_size):
            single = build_nested(self._obs_space, [leaf[i] for leaf in leaves])
            result = np.asarray(self.transform(single))
            if result.shape != self.shape:
                raise ValueError(
                    f"{type(self).__name__}.transform returned shape {result.shape} but "
                    f"_init_shape declared {self.shape}; make the two agree"
                )
            out[i] = result
        return out

    def _bounds(self) -> tuple[Any, Any]:
        """(low, high) of the output, scalars or arrays of ``shape``; unknown by default."""
        return -np.inf, np.inf

    def _make_observation_space(self) -> gym.spaces.Box:
        low, high = self._bounds()
        space = gym.spaces.Box(low, high, self.shape, dtype=np.float32)
        space.original_space = self._obs_space
        return space

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._obs_space} -> shape {self.shape})"


def _reject_framestack(options: dict, channels: int | None = None) -> None:
    """A number in 'framestack' promises stacked frames; the preprocessor never stacks them.

    True (the default) and False say nothing here: they decide the DeepMind preprocessing of
    ALE/* ids, in the env (rlkit.atari). A number k must be what the env delivers: images
    whose ``channels`` are the k frames.
    """
    stack = options["framestack"]
    if isinstance(stack, bool) or stack == channels:
        return
    raise ValueError(
        f"model config 'framestack'={stack!r}: rlkit does not stack frames in the "
        "preprocessor, which sees one observation at a time and keeps no state between "
        "steps, and these observations are not a stack of that many frames. Stack them in "
        f"the env instead: gymnasium.wrappers.FrameStackObservation(env, stack_size={stack}) "
        "with the stack axis last (ALE/* ids stack in rlkit's DeepMind preprocessing), or "
        "leave 'framestack' at its default"
    )


class _LeafPreprocessor(Preprocessor):
    """A built-in for one plain (non-nested) space: check the input, then ``_compute``."""

    _kinds = "biuf"  # numpy dtype kinds accepted as input
    _what = "numbers"

    def transform(self, observation: Any) -> np.ndarray:
        return self._checked(observation, batched=False)[0]

    def transform_batch(self, observations: Any) -> np.ndarray:
        if type(self).transform is not _LeafPreprocessor.transform:  # a subclass redefined it
            return super().transform_batch(observations)
        return self._checked(observations, batched=True)

    def _checked(self, x: Any, batched: bool, scale: bool = True) -> np.ndarray:
        """Check dtype kind and shape (cheap: no per-element Python), then ``_compute``.

        ``scale`` False returns the checked batch itself (ImagePreprocessor.frames).
        """
        x = np.asarray(x)
        space, want = self._obs_space, tuple(self._obs_space.shape)
        if x.dtype.kind not in self._kinds:
            raise ValueError(
                f"{path_str(self._path)} should hold {self._what} for {space}, got dtype {x.dtype}"
            )
        got = x.shape[1:] if batched else x.shape
        if (batched and x.ndim == 0) or got != want:
            kind = f"a batch of shape [B, {', '.join(map(str, want))}]" if batched else want
            raise ValueError(
                f"{path_str(self._path)} should have shape {kind} for {space}, got {x.shape}"
                + ("; use transform() for a single observation" if batched else "")
            )
        if not scale:
            return x
        return self._compute(x if batched else x[None])

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        """batch: [B, *raw_shape] -> float32 [B, *shape]."""
        raise NotImplementedError


def _check_range(x: np.ndarray, low: Any, high: Any, where: str, space: gym.Space) -> None:
    """Raise naming the first value of ``x: [B, ...]`` outside ``[low, high]`` (inclusive)."""
    bad = (x < low) | (x > high)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        lo, hi = np.broadcast_to(low, x.shape)[index], np.broadcast_to(high, x.shape)[index]
        at = f" at position {index[1:]}" if len(index) > 1 else ""
        raise ValueError(
            f"{where} holds {x[index]}{at} (batch row {index[0]}), outside {space}, which "
            f"allows {lo}..{hi} there"
        )
