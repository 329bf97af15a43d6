"""An episode as a GIF or an MP4, for a report or a slide (imageio; ffmpeg for MP4).

    >>> rlkit.record_episode(trainer, "episode.gif", fps=30, size=(480, 320))
    'episode.gif'

``size`` is the picture's (width, height) in pixels, or one number: the width, with the
height that keeps the env's aspect. MP4 (H.264) needs even sides: an odd side is made one
pixel smaller. A GIF stores frame times in hundredths of a second, so fps above 50 play at
most at 50. GIF also merges two identical frames in a row into one shown twice as long
(the duration is kept).

Both formats come with ``pip install "rlkit[video]"`` (imageio and imageio-ffmpeg, which ships
its own ffmpeg). The file is written whole or not at all (rlkit.records.files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlkit.records.files import atomic_path, check_writable

FORMATS = (".gif", ".mp4")
INSTALL_VIDEO = 'pip install "rlkit[video]" (or pip install imageio imageio-ffmpeg)'


def _target_size(frame_shape: tuple, size: Any, even: bool) -> tuple[int, int]:
    """(width, height) of the written frames, from the frame's [H, W, 3] and ``size``."""
    height, width = frame_shape[:2]
    if size is None:
        w, h = width, height
    elif isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size > 0:
        w, h = int(size), max(1, round(height * int(size) / width))
    elif (
        isinstance(size, Sequence)
        and len(size) == 2
        and all(isinstance(v, (int, np.integer)) and v > 0 for v in size)
    ):
        w, h = int(size[0]), int(size[1])
    else:
        raise ValueError(
            f"size takes (width, height) in pixels, a width alone (the aspect kept) or None "
            f"(the env's own size); got {size!r}"
        )
    if even:
        w, h = max(2, w - w % 2), max(2, h - h % 2)
    return w, h


def resize_frames(frames: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Frames [H, W, 3] uint8 -> [N, height, width, 3] uint8 at ``size`` = (width, height)."""
    from PIL import Image

    out = []
    for frame in frames:
        image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
        if image.size != size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        out.append(np.asarray(image))
    return np.stack(out)  # [N, height, width, 3]


def write_video(frames: Sequence[np.ndarray], path: str, fps: float = 30, size: Any = None) -> str:
    """Write frames ([H, W, 3] uint8 each) to ``path``, a .gif or .mp4; returns ``path``.

    Raises:
        ValueError: no frames, another extension, a bad fps or size.
        ImportError: imageio (or imageio-ffmpeg for MP4) missing, with the pip command.
        OSError: the folder cannot be written.
    """
    ext = check_request(path, fps)
    if not frames:
        raise ValueError(f"no frames to write to {path!r}; record an episode first")
    iio = _require_imageio(ext)
    pictures = resize_frames(frames, _target_size(np.shape(frames[0]), size, ext == ".mp4"))
    check_writable(os.path.dirname(path) or ".", "the video", "choose another path")
    with atomic_path(path) as tmp:
        if ext == ".gif":
            iio.imwrite(tmp, pictures, duration=1000 / fps, loop=0)
        else:
            iio.imwrite(tmp, pictures, fps=fps, macro_block_size=1)
    return path


def check_request(path: str, fps: Any) -> str:
    """The extension of ``path`` (".gif" or ".mp4"), or ValueError for a bad path or fps."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"a video path ends in .gif or .mp4; got {path!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 240:
        raise ValueError(f"fps takes a number in (0, 240] (frames per second); got {fps!r}")
    return ext


def _require_imageio(ext: str) -> Any:
    try:
        import imageio.v3 as iio

        if ext == ".mp4":
            import imageio_ffmpeg  # noqa: F401  (the ffmpeg binary imageio writes MP4 with)
    except ImportError as err:
        raise ImportError(
            f"writing a {ext} needs the {err.name or 'imageio'} package, which is not "
            f"installed: {INSTALL_VIDEO}"
        ) from None
    return iio


def record_episode(
    trainer: Any,
    path: str,
    fps: float = 30,
    size: Any = None,
    max_steps: int = 500,
    seed: int | None = 0,
    explore: bool = False,
) -> str:
    """Play one episode with ``trainer``'s policy and save it as a GIF or MP4.

    Args:
        trainer: an rlkit trainer (its policy, env and env_config are used).
        path: where to write; the extension (.gif or .mp4) chooses the format.
        fps: frames per second of the file.
        size: (width, height), a width alone (aspect kept) or None (the env's frames).
        max_steps: the longest episode recorded (steps; the file has one more frame).
        seed: the env's reset seed (None: unseeded).
        explore: sample actions (True) or take the deterministic ones.

    Returns:
        ``path``.
    """
    from rlkit.widgets.episodes import record_episode as play_episode

    _require_imageio(check_request(path, fps))  # before the episode, not after
    recording = play_episode(
        trainer.get_policy(),
        trainer.env_spec,
        max_steps,
        env_config=trainer.config["env_config"],
        seed=seed,
        explore=explore,
    )
    return write_video(recording.frames, path, fps=fps, size=size)
