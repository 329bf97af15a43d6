"""Image frames: ``ImagePreprocessor`` and the ``ByteScale`` it can leave to the model.

uint8 ``(H, W, C)`` frames -> float32 ``(dim, dim, C')`` scaled to about [-1, 1] or [0, 1]. When
that scaling is all the preprocessor does (DeepMind-preprocessed Atari frames), rlkit keeps the
frames as uint8 in batches and the model scales them as it reads them (``ByteScale``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlkit.preprocessors.base import _LeafPreprocessor, _reject_framestack
from rlkit.spaces import (
    is_image_space,
    path_str,
)

# ITU-R BT.601 luma weights, the ones OpenCV's RGB2GRAY (and so the Atari wrappers) use.
_LUMA = (0.299, 0.587, 0.114)


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
        # One new float32 tensor, scaled in place: the same float32 operations as
        # (x - 128) / 128, without two more 29 MB tensors for a 256-frame minibatch.
        y = torch.as_tensor(x).to(torch.float32, copy=True)
        return y.sub_(128.0).div_(128.0) if self.zero_mean else y.div_(255.0)

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
        self._scale = ByteScale(options["zero_mean"])  # the last step of transform
        self.byte_scale = self._scale if deferrable else None
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
        return self._scale(x).numpy()

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
