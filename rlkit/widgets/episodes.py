"""Episodes of a policy as pictures: rgb_array frames, PNG frames and animated GIFs.

No virtual display is needed: gymnasium's ``render_mode="rgb_array"`` draws into a numpy
array ([H, W, 3] uint8) off screen.

    >>> frames = render_episode(trainer.get_policy(), "CartPole-v1", max_steps=200)
    >>> open("episode.gif", "wb").write(frames_to_gif(frames))
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.envs import env_label, make_env
from rlkit.spaces import add_batch_dim, first_of_batch


@dataclass
class EpisodeRecording:
    """One rendered episode: frames [H, W, 3] uint8 (one more than steps), rewards, actions."""

    frames: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    terminated: bool = False

    @property
    def episode_return(self) -> float:
        """The sum of the episode's rewards (undiscounted)."""
        return float(np.sum(self.rewards))


def _quiet_sdl() -> None:
    """Let pygame (classic-control rendering) draw off screen without a display server.

    Without this, SDL prints "XDG_RUNTIME_DIR is invalid" into the notebook. A display that
    exists, or a driver the user chose, is left alone.
    """
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def make_render_env(env: Any, env_config: dict | None = None) -> gym.Env:
    """The env with ``render_mode="rgb_array"``, also for creators that return a wrapper."""
    _quiet_sdl()
    try:
        made = make_env(env, env_config, render_mode="rgb_array")
    except AttributeError:
        # A registered creator that returns a wrapper (FilterObservation(...)): a wrapper's
        # render_mode is read-only, but the innermost env decides how it renders.
        made = make_env(env, env_config)
        made.unwrapped.render_mode = "rgb_array"
    return made


def _frame(env: gym.Env, where: str) -> np.ndarray:
    frame = env.render()
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3):
        raise ValueError(
            f"env '{where}' returned {type(frame).__name__} from render() with "
            f"render_mode='rgb_array'; an episode replay needs an env that draws RGB frames"
        )
    return frame


def record_episode(
    policy: Any,
    env: Any,
    max_steps: int = 200,
    env_config: dict | None = None,
    seed: int | None = None,
    explore: bool = False,
) -> EpisodeRecording:
    """Play one episode with ``policy`` and keep a frame after the reset and after each step.

    Args:
        policy: an rlkit Policy (``trainer.get_policy()``).
        env: anything rlkit.envs.make_env accepts.
        max_steps: stop after this many steps even if the episode goes on.
        env_config: passed to the env creator (None -> an empty config).
        seed: seed of the env's reset.
        explore: sample actions (True) or take the deterministic ones.
    """
    render_env = make_render_env(env, env_config)
    recording = EpisodeRecording()
    try:
        obs, _ = render_env.reset(seed=seed)
        recording.frames.append(_frame(render_env, env_label(env)))
        state = policy.get_initial_state(1)
        recurrent = bool(state)
        prev_actions = np.zeros((1, *policy.action_shape), policy.action_dtype)
        prev_rewards = np.zeros(1, np.float32)
        for _ in range(max_steps):
            actions, state, extra = policy.compute_actions(
                add_batch_dim(obs),
                state,
                prev_actions if recurrent else None,
                prev_rewards if recurrent else None,
                explore=explore,
                update_filter=False,
            )
            action = first_of_batch(actions)
            obs, reward, terminated, truncated, _ = render_env.step(action)
            recording.frames.append(_frame(render_env, env_label(env)))
            recording.rewards.append(float(reward))
            recording.actions.append(action)
            prev_actions, prev_rewards = extra["actions"], np.asarray([reward], np.float32)
            if terminated or truncated:
                recording.terminated = bool(terminated)
                break
    finally:
        render_env.close()
    return recording


def render_episode(policy: Any, env: Any, max_steps: int = 200, **kwargs: Any) -> list:
    """The frames ([H, W, 3] uint8) of one episode; kwargs as for ``record_episode``."""
    return record_episode(policy, env, max_steps, **kwargs).frames


def frame_png(frame: np.ndarray) -> bytes:
    """PNG bytes of one [H, W, 3] uint8 frame."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def frames_to_gif(frames: list, fps: int = 20) -> bytes:
    """An animated GIF (looping) of the frames: shows in any notebook, browser or slide."""
    from PIL import Image

    if not frames:
        raise ValueError("frames_to_gif needs at least one frame; record an episode first")
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    buf = io.BytesIO()
    images[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=int(1000 / fps),
        loop=0,
    )
    return buf.getvalue()
