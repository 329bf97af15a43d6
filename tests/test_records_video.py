"""Episodes as videos (rlkit.records.video, the replay's Save): a GIF and an MP4 are written
at the asked frame rate and size, and their frame count read back equals the episode's."""

from __future__ import annotations

import os
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

import rlkit
from rlkit.algorithms import PPO
from rlkit.records.video import write_video
from rlkit.widgets.episodes import record_episode as play_episode

TINY = {"num_envs": 1, "rollout_fragment_length": 16, "seed": 0, "model": {"fcnet_hiddens": [8]}}


@pytest.fixture(scope="module")
def trainer():
    trainer = PPO(env="CartPole-v1", config=TINY)
    yield trainer
    trainer.stop()


def gif_frames(path) -> tuple[int, list[int], tuple[int, int]]:
    """(frame count, each frame's duration in ms, (width, height)) of a GIF."""
    with Image.open(path) as image:
        durations = []
        for i in range(image.n_frames):
            image.seek(i)
            durations.append(image.info["duration"])
        return image.n_frames, durations, image.size


def test_record_episode_writes_a_gif_and_an_mp4_of_the_episode(trainer, tmp_path):
    frames = play_episode(trainer.get_policy(), "CartPole-v1", 40, seed=3).frames
    assert 10 < len(frames) <= 41  # an episode, not a single frame
    gif = rlkit.record_episode(
        trainer, str(tmp_path / "ep.gif"), fps=25, size=(160, 110), max_steps=40, seed=3
    )
    assert gif == str(tmp_path / "ep.gif")
    count, durations, size = gif_frames(gif)
    assert size == (160, 110) and 1 < count <= len(frames)
    # 25 frames per second: 40 ms each. A GIF shows a frame identical to the one before by
    # lengthening that one (the cart barely moves at 160 px), so the times add up to the
    # episode's frames exactly.
    assert set(durations) <= {40 * k for k in range(1, len(frames) + 1)}
    assert sum(durations) == 40 * len(frames)

    mp4 = rlkit.record_episode(
        trainer, str(tmp_path / "ep.mp4"), fps=20, size=321, max_steps=40, seed=3
    )
    n, seconds = imageio_ffmpeg.count_frames_and_secs(mp4)
    assert n == len(frames) and seconds == pytest.approx(len(frames) / 20, abs=0.06)
    reader = imageio_ffmpeg.read_frames(mp4)
    meta = next(reader)
    reader.close()
    # 321 wide keeps CartPole's 3:2 aspect (214 high), then even sides for H.264.
    assert meta["size"] == (320, 214) and meta["fps"] == 20
    assert sorted(os.listdir(tmp_path)) == ["ep.gif", "ep.mp4"]  # no temp files left


def test_write_video_keeps_every_distinct_frame_and_the_pictures(tmp_path):
    frames = [np.full((20, 30, 3), (10 * i, 200, 255 - 10 * i), np.uint8) for i in range(12)]
    write_video(frames, str(tmp_path / "colours.gif"), fps=10)
    assert gif_frames(tmp_path / "colours.gif") == (12, [100] * 12, (30, 20))
    write_video(frames, str(tmp_path / "colours.mp4"), fps=10)
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "colours.mp4"))[0] == 12
    with Image.open(tmp_path / "colours.gif") as image:
        image.seek(5)
        pixel = image.convert("RGB").getpixel((3, 3))
    assert np.allclose(pixel, (50, 200, 205), atol=8)  # GIF palettes are 8-bit: close, not equal


@pytest.mark.parametrize(
    "path, kwargs, error, message",
    [
        ("ep.avi", {}, ValueError, "a video path ends in .gif or .mp4"),
        ("ep.gif", {"fps": 0}, ValueError, "fps takes a number in (0, 240]"),
        ("ep.gif", {"size": (0, 10)}, ValueError, "size takes (width, height)"),
        ("notes/ep.gif", {}, OSError, "cannot write the video to"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(
    trainer, tmp_path, path, kwargs, error, message
):
    (tmp_path / "notes").write_text("a file where a folder would go")
    with pytest.raises(error) as err:
        rlkit.record_episode(trainer, str(tmp_path / path), max_steps=5, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert sorted(os.listdir(tmp_path)) == ["notes"]


def test_imageio_missing_is_one_line_with_the_install_command(trainer, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio.v3", None)
    with pytest.raises(ImportError, match=r'pip install "rlkit\[video\]"'):
        rlkit.record_episode(trainer, str(tmp_path / "ep.gif"), max_steps=5)
    assert os.listdir(tmp_path) == []


def test_the_replays_save_button_writes_the_recording(trainer, tmp_path, monkeypatch):
    from rlkit.widgets.replay import EpisodeReplay

    monkeypatch.chdir(tmp_path)
    replay = EpisodeReplay(trainer.get_policy(), "CartPole-v1", max_steps=15, fps=10)
    replay.save_button.click()  # nothing recorded yet: an error in the status, no file
    assert "record an episode first" in replay.status.value and os.listdir(tmp_path) == []
    replay.record(seed=0)
    replay.save_button.click()  # the default name: episode.gif
    count = len(replay.recording.frames)
    assert sum(gif_frames(tmp_path / "episode.gif")[1]) == 100 * count  # 10 fps
    replay.save_path.value = "clip.mp4"
    replay.save_button.click()
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "clip.mp4"))[0] == count
    assert "saved" in replay.status.value and "clip.mp4" in replay.status.value
