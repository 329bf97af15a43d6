"""EpisodeReplay: record an episode of the current policy and play it back inline.

    >>> replay = EpisodeReplay(trainer.get_policy(), "CartPole-v1")
    >>> replay                        # in a notebook: Record, then Play or drag the slider

Playback is ipywidgets' Play linked to a slider in the browser (jslink), so it keeps its
pace without a round trip per frame; only the picture comes from the kernel.
"""

from __future__ import annotations

import copy
import html
import os
from typing import Any

import ipywidgets as widgets

from rlkit.envs import env_label
from rlkit.widgets.building import error_text
from rlkit.widgets.dashboard import error_html
from rlkit.widgets.episodes import EpisodeRecording, frame_png, frames_to_gif, record_episode

MAX_WIDTH_PX = 480  # CartPole's 600 px frames are shown smaller; the aspect always kept


class EpisodeReplay(widgets.VBox):
    """An inline player for one episode of ``policy`` in ``env`` (rgb_array frames).

    Args:
        policy: an rlkit Policy.
        env: anything rlkit.envs.make_env accepts.
        env_config: passed to the env creator.
        max_steps: the longest episode recorded.
        fps: playback speed.

    Attributes:
        recording: the last EpisodeRecording (frames, rewards, actions).
    """

    def __init__(
        self,
        policy: Any,
        env: Any = "CartPole-v1",
        env_config: dict | None = None,
        max_steps: int = 200,
        fps: int = 20,
    ):
        self.policy, self.env, self.env_config = policy, env, env_config
        self.max_steps, self.fps = max_steps, fps
        self.recording = EpisodeRecording()
        self._seed = 0
        self.record_button = widgets.Button(description="Record episode", icon="video-camera")
        self.explore = widgets.Checkbox(value=False, description="sample actions")
        self.play = widgets.Play(value=0, min=0, max=0, interval=int(1000 / fps))
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description="frame")
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        # Hidden until Record; then shown at the frame's own size, at most MAX_WIDTH_PX wide.
        self.image = widgets.Image(format="png", layout={"display": "none", "max_width": "100%"})
        self.image.add_class("rlkit-replay-frame")
        self.status = widgets.HTML("press Record episode")
        self.status.add_class("rlkit-replay-status")
        self.record_button.on_click(lambda _: self.record())
        # Save: the recording as a GIF or MP4 (the name's extension), beside the notebook.
        self.save_path = widgets.Text(value="episode.gif", layout={"width": "150px"})
        self.save_button = widgets.Button(
            description="Save", icon="save", tooltip="save as GIF or MP4 (by the extension)"
        )
        self.save_button.on_click(lambda _: self.save(self.save_path.value))
        self.save_button.layout.width = "auto"
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self.record_button.layout.width = "auto"
        self.explore.indent, self.explore.layout.width = False, "130px"
        controls = widgets.HBox(
            [
                self.record_button,
                self.explore,
                self.play,
                self.slider,
                self.save_path,
                self.save_button,
            ],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        super().__init__([controls, self.status, self.image])

    def set_policy(self, policy: Any, env: Any = None, env_config: dict | None = None) -> None:
        """Use another policy (and env) for the next recording.

        A new env clears the recording (it shows another env); a new policy on the same env
        keeps it but says that it shows the previous policy.
        """
        changed_env = env is not None and (env is not self.env or env_config != self.env_config)
        if changed_env:
            self.env, self.env_config = env, env_config
            self.clear(f"env is now {html.escape(env_label(env))}: press Record episode")
        elif policy is not self.policy and self.recording.frames:
            self.status.value = (
                "<span class='rlkit-stale' style='color:#8a5300'>⚠ this recording shows the "
                "previous policy; press Record episode for the current one</span>"
            )
        self.policy = policy

    def clear(self, message: str = "press Record episode") -> None:
        """Forget the recording: no picture, the slider at 0, ``message`` as status."""
        self.recording = EpisodeRecording()
        self.play.value = self.slider.value = 0
        self.play.max = self.slider.max = 0
        self.image.layout.display = "none"
        self.image.value = b""
        self.status.value = message

    def record(self, seed: int | None = None) -> EpisodeRecording:
        """What Record does: play one episode (a new seed each time) and show its first frame."""
        if seed is None:
            seed, self._seed = self._seed, self._seed + 1
        try:
            self.recording = record_episode(
                copy.deepcopy(self.policy),  # never run a model another thread trains
                self.env,
                self.max_steps,
                env_config=self.env_config,
                seed=seed,
                explore=self.explore.value,
            )
        except Exception as err:  # e.g. an env that cannot draw rgb_array frames
            self.status.value = error_html(error_text(err))
            return self.recording
        n = len(self.recording.frames)
        end = "terminated" if self.recording.terminated else "was cut"
        self.status.value = (
            f"{html.escape(env_label(self.env))}: {n - 1} steps, return "
            f"{self.recording.episode_return:.1f}; the episode {end} (seed {seed})"
        )
        self.play.value = 0
        self.play.max = self.slider.max = n - 1
        self.slider.value = 0
        self.show(0)
        return self.recording

    def show(self, index: int) -> None:
        """Display frame ``index`` of the recording."""
        frames = self.recording.frames
        if frames:
            frame = frames[min(index, len(frames) - 1)]
            self.image.value = frame_png(frame)
            scale = max(1, 320 // frame.shape[1])  # tiny frames (Pong's 160 px) twice as big
            self.image.layout.width = f"{min(scale * frame.shape[1], MAX_WIDTH_PX)}px"
            self.image.layout.height = "auto"
            self.image.layout.display = None

    def save(self, path: str, fps: float | None = None, size: Any = None) -> str | None:
        """What Save does: write the recording to ``path`` (.gif or .mp4; rlkit.records.video).

        Returns the path, or None after showing the error (no recording, a bad name...).
        """
        from rlkit.records.video import write_video

        try:
            write_video(self.recording.frames, path, fps=fps or self.fps, size=size)
        except Exception as err:
            self.status.value = error_html(error_text(err))
            return None
        where = html.escape(os.path.abspath(path))
        self.status.value = f"saved {len(self.recording.frames)} frames to {where}"
        return path

    def gif(self, fps: int = 20) -> bytes:
        """The recording as an animated GIF (to save or to show with IPython.display.Image)."""
        return frames_to_gif(self.recording.frames, fps)
