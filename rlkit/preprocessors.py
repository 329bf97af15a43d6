"""Preprocessors: turn a raw gymnasium observation into a float32 array a model can read.

    Environment -> [Preprocessor] -> Filter -> Model -> ActionDistribution -> action

Built-ins, picked by ``get_preprocessor(space)`` from the space type alone:

- ``NoPreprocessor``: Box that is not an image -> same shape, float32.
- ``OneHotPreprocessor``: Discrete(n) -> one-hot ``(n,)``; MultiDiscrete(nvec) -> one-hots
  concatenated ``(sum(nvec),)``; MultiBinary(n) -> ``(n,)`` of 0.0 / 1.0.
- ``ImagePreprocessor``: uint8 Box (H, W, C) -> ``(dim, dim, C)`` scaled to about [-1, 1].
- ``TupleFlatteningPreprocessor`` / ``DictFlatteningPreprocessor``: each leaf by its own
  built-in, concatenated in canonical order. The ``observation_space`` keeps
  ``original_space`` and ``leaf_shapes``, from which ``restore_original_dimensions`` cuts the
  flat model input back into the nested layout.

A custom preprocessor subclasses ``Preprocessor`` and implements ``_init_shape`` and
``transform`` (one observation); ``transform_batch`` then loops over a batch for it. The
built-ins work on whole batches with numpy instead, because they run at every env step.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlkit.config import merge_model_config
from rlkit.spaces import (
    build_nested,
    check_structure,
    children,
    get_at,
    is_image_space,
    is_nested,
    leaf_paths,
    one_hot,
    path_str,
)

# ITU-R BT.601 luma weights, the ones OpenCV's RGB2GRAY (and so the Atari wrappers) use.
_LUMA = (0.299, 0.587, 0.114)


class Preprocessor:
    """Base class: one raw observation in, one float32 array of ``self.shape`` out.

    Args:
        obs_space: the environment's observation space.
        options: the model config (see ``rlkit.config.MODEL_DEFAULTS``); ``None`` means the
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


class NoPreprocessor(_LeafPreprocessor):
    """Box observations that are not images: passed through, cast to float32."""

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        _reject_framestack(options)
        if not isinstance(obs_space, gym.spaces.Box):
            raise TypeError(f"NoPreprocessor takes a Box space, got {obs_space}")
        return obs_space.shape

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        return batch.astype(np.float32, copy=False)

    def _bounds(self) -> tuple[Any, Any]:
        with np.errstate(over="ignore"):  # a float64 bound beyond float32 becomes +-inf
            return self._obs_space.low.astype(np.float32), self._obs_space.high.astype(np.float32)


class AtariRamPreprocessor(NoPreprocessor):
    """Atari RAM (``Box(0, 255, (128,), uint8)``): bytes scaled to [-1, 1) as ``(x - 128) / 128``.

    This is RLlib's AtariRamPreprocessor, so the network sees centred inputs of unit scale.
    """

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        return (batch.astype(np.float32) - 128.0) / 128.0  # [B, 128] uint8 -> float32

    def _bounds(self) -> tuple[Any, Any]:
        return np.full(128, -1.0, np.float32), np.full(128, 127 / 128, np.float32)


def is_atari_ram_space(space: gym.Space) -> bool:
    """True for the 128 bytes of an Atari console's RAM (ALE's ``obs_type="ram"``)."""
    return (
        isinstance(space, gym.spaces.Box)
        and space.shape == (128,)
        and space.dtype == np.uint8
        and bool(np.all(space.low == 0) and np.all(space.high == 255))
    )


class OneHotPreprocessor(_LeafPreprocessor):
    """Discrete(n) -> one-hot (n,); MultiDiscrete(nvec) -> one-hots concatenated (sum(nvec),).

    MultiBinary gives its 0/1 entries as float32. Discrete's ``start`` maps to index 0.
    """

    _kinds = "biu"
    _what = "integers"

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        _reject_framestack(options)
        if isinstance(obs_space, gym.spaces.Discrete):
            return (int(obs_space.n),)
        if isinstance(obs_space, gym.spaces.MultiDiscrete):
            return (int(obs_space.nvec.sum()),)
        if isinstance(obs_space, gym.spaces.MultiBinary):
            return (int(np.prod(obs_space.shape)),)
        raise TypeError(
            f"OneHotPreprocessor takes Discrete/MultiDiscrete/MultiBinary, got {obs_space}"
        )

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        space, where = self._obs_space, path_str(self._path)
        B = batch.shape[0]
        if isinstance(space, gym.spaces.MultiBinary):
            _check_range(batch, 0, 1, where, space)
            return batch.reshape(B, -1).astype(np.float32)  # [B, prod(shape)]
        if isinstance(space, gym.spaces.Discrete):
            _check_range(batch, space.start, space.start + space.n - 1, where, space)
            return one_hot(batch.astype(np.int64) - space.start, int(space.n))  # [B, n]
        start, nvec = space.start.reshape(-1), space.nvec.reshape(-1)  # [K] each
        values = batch.reshape(B, -1).astype(np.int64)  # [B, K]
        _check_range(values, start, start + nvec - 1, where, space)
        # Each position k owns the columns offsets[k] .. offsets[k] + nvec[k] - 1.
        offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])  # [K]
        out = np.zeros((B, self.size), dtype=np.float32)
        out[np.arange(B)[:, None], offsets + values - start] = 1.0
        return out

    def _bounds(self) -> tuple[Any, Any]:
        return 0.0, 1.0


class ByteScale:
    """The scaling of uint8 frames, applied where the model reads them.

    ``ByteScale(zero_mean)(x)``: a uint8 tensor (or array) ``[B, ...]`` -> float32
    ``(x - 128) / 128`` (zero_mean) or ``x / 255``, the same float32 operations
    ``ImagePreprocessor.transform`` makes, so both give the same bits.

    When the frames need nothing but this scaling (DeepMind-preprocessed Atari, any uint8
    image already at most ``dim`` pixels a side) and there is no filter, rlkit keeps them as
    uint8 in sampled batches, DQN's replay buffer and offline data (a quarter of float32's
    memory), and the model scales each minibatch on its own device (``Model.decode_obs``).
    """

    def __init__(self, zero_mean: bool):
        self.zero_mean = bool(zero_mean)

    def __call__(self, x: Any) -> torch.Tensor:
        """Frames ``[B, ...]`` (uint8, or float holding 0..255) -> scaled float32 tensor."""
        x = torch.as_tensor(x).float()
        return (x - 128.0) / 128.0 if self.zero_mean else x / 255.0

    def __repr__(self) -> str:
        return "(x - 128) / 128" if self.zero_mean else "x / 255"


class ImagePreprocessor(_LeafPreprocessor):
    """uint8 (H, W, C) frames -> float32 (dim, dim, C') scaled to about [-1, 1] or [0, 1].

    Options used: ``dim`` (frames larger than dim x dim are resized to it; smaller ones keep
    their size, since upscaling adds no information), ``grayscale`` (C' = 1, luminance of RGB),
    ``zero_mean`` (True: (x - 128) / 128, else x / 255).

    Attributes:
        byte_scale: a ``ByteScale`` when the transform is that scaling alone (no resize, no
            colour conversion), so frames can be stored as uint8 and scaled later; else None.
    """

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        if not is_image_space(obs_space):
            raise TypeError(
                f"ImagePreprocessor takes a uint8 Box of shape (H, W, C), got {obs_space}"
            )
        H, W, C = obs_space.shape
        _check_channels_last(obs_space, self._path)
        _reject_framestack(options, C)
        if options["grayscale"] and C not in (1, 3):
            raise ValueError(
                f"model config 'grayscale'=True needs RGB (3) or 1 channel, but "
                f"{path_str(self._path)} is {obs_space} with {C} channels; set 'grayscale' to "
                "False or convert the frames in an env wrapper"
            )
        dim = options["dim"]
        self._out_hw = (H, W) if max(H, W) <= dim else (dim, dim)
        only_scales = self._out_hw == (H, W) and not (options["grayscale"] and C == 3)
        # A subclass may compute something else: only the built-in itself defers its scaling.
        deferrable = only_scales and type(self) is ImagePreprocessor
        self.byte_scale = ByteScale(options["zero_mean"]) if deferrable else None
        return (*self._out_hw, 1 if options["grayscale"] else C)

    def frames(self, observations: Any) -> np.ndarray:
        """A batch ``[B, H, W, C]`` checked (dtype, shape) and returned unscaled, as uint8.

        Only for a preprocessor whose ``byte_scale`` is set: ``byte_scale(frames(x))`` equals
        ``transform_batch(x)``.
        """
        if self.byte_scale is None:
            raise ValueError(
                f"{self!r} resizes or converts its frames, so they cannot be kept unscaled"
            )
        x = self._checked(observations, batched=True, scale=False)
        if x.dtype != np.uint8:
            as_bytes = x.astype(np.uint8)
            if not np.array_equal(as_bytes, x):
                raise ValueError(
                    f"{path_str(self._path)} should hold whole numbers 0..255 for "
                    f"{self._obs_space}, got dtype {x.dtype} with other values; make the env "
                    f"return uint8 frames, as its observation space says"
                )
            x = as_bytes
        return x

    def _compute(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch.astype(np.float32))  # [B, H, W, C]
        if self._options["grayscale"] and x.shape[-1] == 3:
            x = x @ torch.tensor(_LUMA).unsqueeze(1)  # [B, H, W, 1]
        if tuple(x.shape[1:3]) != self._out_hw:
            x = x.permute(0, 3, 1, 2)  # [B, C, H, W], the layout interpolate expects
            # "area" averages every source pixel when shrinking; an axis that grows needs bilinear.
            shrink = x.shape[2] >= self._out_hw[0] and x.shape[3] >= self._out_hw[1]
            x = F.interpolate(x, size=self._out_hw, mode="area" if shrink else "bilinear")
            x = x.permute(0, 2, 3, 1)  # [B, dim, dim, C]
        return ByteScale(self._options["zero_mean"])(x).numpy()

    def _bounds(self) -> tuple[Any, Any]:
        return (-1.0, 127.0 / 128.0) if self._options["zero_mean"] else (0.0, 1.0)


def _check_channels_last(space: gym.spaces.Box, path: tuple) -> None:
    """Raise for frames that look channel-first, (C, H, W) such as (4, 84, 84)."""
    first, _, last = space.shape
    if first <= 4 < last:
        raise ValueError(
            f"{path_str(path)} is {space}: that looks like {first} channel-first frames "
            f"(C, H, W), but rlkit reads images as (H, W, C). Move the channel axis last in "
            "the env, e.g. gymnasium.wrappers.TransformObservation(env, lambda o: "
            "np.moveaxis(o, 0, -1), new_space); ALE/* ids get (84, 84, 4) frames from rlkit's "
            "DeepMind preprocessing"
        )


class TupleFlatteningPreprocessor(Preprocessor):
    """Tuple/Dict spaces: every leaf preprocessed by its own built-in, outputs concatenated.

    The vector follows the canonical order: depth first, Dict keys sorted.
    """

    _space_type = gym.spaces.Tuple

    def _init_shape(self, obs_space: gym.Space, options: dict) -> tuple:
        if not isinstance(obs_space, self._space_type):
            raise TypeError(
                f"{type(self).__name__} takes a {self._space_type.__name__} space, got {obs_space}"
            )
        _check_supported(obs_space, self._path)
        # One built-in per leaf: (path relative to this space, preprocessor with absolute path).
        self._leaves = [
            (rel, _leaf_class(leaf)(leaf, options, path=self._path + rel))
            for rel, leaf in leaf_paths(obs_space)
        ]
        return (sum(prep.size for _, prep in self._leaves),)

    def transform(self, observation: Any) -> np.ndarray:
        """One nested observation -> float32 (size,)."""
        return self._flatten(observation, batched=False)[0]

    def transform_batch(self, observations: Any) -> np.ndarray:
        """A vector env's nested batch (leaves [B, ...]) -> float32 [B, size]."""
        if type(self).transform is not TupleFlatteningPreprocessor.transform:  # redefined
            return super().transform_batch(observations)
        return self._flatten(observations, batched=True)

    def _flatten(self, obs: Any, batched: bool) -> np.ndarray:
        check_structure(obs, self._obs_space, self._path)
        parts = [prep._checked(get_at(obs, rel), batched) for rel, prep in self._leaves]
        B = parts[0].shape[0]
        for (_, prep), part in zip(self._leaves, parts):
            if part.shape[0] != B:
                raise ValueError(
                    f"{path_str(prep._path)} has a batch of {part.shape[0]} but "
                    f"{path_str(self._leaves[0][1]._path)} has {B}; every part needs the same B"
                )
        return np.concatenate([part.reshape(B, -1) for part in parts], axis=1)  # [B, size]

    def _bounds(self) -> tuple[Any, Any]:
        spaces = [prep.observation_space for _, prep in self._leaves]
        low = np.concatenate([s.low.reshape(-1) for s in spaces])
        return low, np.concatenate([s.high.reshape(-1) for s in spaces])

    def _make_observation_space(self) -> gym.spaces.Box:
        space = super()._make_observation_space()
        space.leaf_shapes = tuple(prep.shape for _, prep in self._leaves)
        return space


class DictFlatteningPreprocessor(TupleFlatteningPreprocessor):
    """Dict spaces: every leaf preprocessed by its own built-in, keys sorted, concatenated."""

    _space_type = gym.spaces.Dict


def _leaf_class(space: gym.Space) -> type[Preprocessor] | None:
    """The built-in for a non-nested space, or None when there is none."""
    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
        return OneHotPreprocessor
    if isinstance(space, gym.spaces.Box):
        if is_atari_ram_space(space):
            return AtariRamPreprocessor
        return ImagePreprocessor if is_image_space(space) else NoPreprocessor
    return None


def _supported(space: gym.Space) -> bool:
    return all(_leaf_class(leaf) is not None for _, leaf in leaf_paths(space))


def _check_supported(space: gym.Space, prefix: tuple = ()) -> None:
    """Raise ValueError naming the first leaf of ``space`` that no built-in can encode."""
    for path, leaf in leaf_paths(space, prefix):
        if _leaf_class(leaf) is not None:
            continue
        if isinstance(space, gym.spaces.Dict) and not prefix:
            keep = [key for key, child in children(space) if _supported(child)]
            fix = f"gymnasium.wrappers.FilterObservation(env, {keep!r}) to drop it"
        else:
            fix = "a gymnasium.wrappers.TransformObservation that encodes it as a Box"
        raise ValueError(
            f"{path_str(path)} is {leaf}, which has no built-in preprocessor (rlkit encodes Box, "
            "Discrete, MultiDiscrete and MultiBinary, nested in Tuple/Dict). Wrap the env with "
            f"{fix}, or register a custom preprocessor with "
            "ModelCatalog.register_custom_preprocessor(name, cls) and set model config "
            "'custom_preprocessor' to its name"
        )


def get_preprocessor(space: gym.Space) -> type[Preprocessor]:
    """Return the built-in preprocessor class for ``space``.

    Raises:
        ValueError: ``space`` (or a part of it) has no built-in: names the part and the fix.
        TypeError: ``space`` is not a gymnasium space.
    """
    if not isinstance(space, gym.Space):
        raise TypeError(f"get_preprocessor takes a gymnasium space, got {type(space).__name__}")
    _check_supported(space)
    if isinstance(space, gym.spaces.Tuple):
        return TupleFlatteningPreprocessor
    if isinstance(space, gym.spaces.Dict):
        return DictFlatteningPreprocessor
    return _leaf_class(space)


def restore_original_dimensions(obs: torch.Tensor, obs_space: gym.Space) -> Any:
    """Cut a flat model input back into the layout of the raw observation space.

    Args:
        obs: ``[B, size]`` (or ``[B, *obs_space.shape]``), any float dtype and device.
        obs_space: a preprocessor's ``observation_space``.

    Returns:
        For a flattened Tuple/Dict space, the same tuple/dict nesting as
        ``obs_space.original_space`` holding views of ``obs``: a Box leaf as
        ``[B, *leaf_shape]`` (after its own preprocessing, e.g. ``[B, 84, 84, 3]``), a Discrete
        leaf one-hot ``[B, n]``. Otherwise ``obs`` reshaped to ``[B, *obs_space.shape]``.
    """
    # math.prod, not np.prod: this runs on every minibatch, and on shapes np.prod is 10x slower.
    B, size = obs.shape[0], math.prod(obs.shape[1:])
    leaf_shapes = getattr(obs_space, "leaf_shapes", None)
    expected = math.prod(obs_space.shape)
    if size != expected:
        raise ValueError(
            f"restore_original_dimensions got obs of shape {tuple(obs.shape)} ({size} values per "
            f"row) but {obs_space} has {expected}; pass the preprocessed batch [B, {expected}]"
        )
    original = getattr(obs_space, "original_space", None)
    if leaf_shapes is None or original is None or not is_nested(original):
        return obs.reshape(B, *obs_space.shape)
    flat = obs.reshape(B, size)  # [B, size]
    leaves, start = [], 0
    for shape in leaf_shapes:
        width = int(np.prod(shape, dtype=np.int64))
        leaves.append(flat[:, start : start + width].reshape(B, *shape))  # [B, *leaf_shape]
        start += width
    return build_nested(original, leaves)
