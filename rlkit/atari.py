"""Atari (``ALE/*`` ids): the DeepMind preprocessing RLlib applies by default, built two ways.

What a trainer does to an ``ALE/*`` env under ``preprocessor_pref="deepmind"`` (the default),
and where each step runs:

| step | gymnasium wrappers ("sync"/"async") | ale-py native vector env ("auto"/"vector") |
|---|---|---|
| no-op reset (up to 30 no-ops) | ``AtariPreprocessing`` | ``noop_max`` |
| frame skip 4, max-pool of the last 2 | ``AtariPreprocessing`` | ``frameskip``, ``maxpool`` |
| ``dim`` x ``dim`` grayscale | ``AtariPreprocessing`` | ``img_height/width``, ``grayscale`` |
| fire reset (games that need FIRE) | ``FireReset`` below | ``use_fire_reset`` |
| stack of ``framestack`` frames | ``FrameStackObservation`` | ``stack_num`` |
| frames as ``(dim, dim, stack)`` uint8 | ``ChannelsLast`` below | ``DeepMindTraining`` below |
| episodic life, FIRE after a life lost | ``DeepMindTraining`` (training only) | same |
| rewards clipped to their sign | ``DeepMindTraining`` (training only) | same |

The episode return a trainer reports stays the real game score: ``DeepMindTraining`` sums the
unclipped rewards over whole games (all lives) and reports them in ``info["episode"]``.
ale-py's own ``episodic_life`` restarts the whole game at every life lost and its
``reward_clipping`` changes the score it reports, so rlkit leaves both off and does them here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np

ALE_PREFIX = "ALE/"
PREFERENCES = ("deepmind", "rllib", None)
_MAX_DIM = 160  # DeepMind preprocessing shrinks 210x160 frames; it never upscales them.
# env_config keys both builds understand; anything else goes to the gymnasium wrappers only.
_NATIVE_KEYS = ("repeat_action_probability", "full_action_space", "max_num_frames_per_episode")
# ale-py's AtariVectorEnv settings that never change (episodic life, clipping: the module doc).
_NATIVE_FIXED = {"grayscale": True, "maxpool": True, "use_fire_reset": True}
_NATIVE_FIXED.update(episodic_life=False, reward_clipping=False)


@dataclass(frozen=True)
class DeepMindSettings:
    """The DeepMind preprocessing of one ALE env (Mnih et al. 2015; RLlib's wrap_deepmind).

    Attributes:
        dim: frames are resized to dim x dim (model config ``dim``).
        framestack: frames per observation, 1 for none (model config ``framestack``).
        noop_max: up to this many no-ops after a reset.
        frame_skip: each action repeats this many frames; the last two are max-pooled.
        episodic_life: a lost life ends the episode for learning (training only).
        clip_rewards: learning sees the sign of each reward (training only).
    """

    dim: int = 84
    framestack: int = 4
    noop_max: int = 30
    frame_skip: int = 4
    episodic_life: bool = True
    clip_rewards: bool = True

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        """One observation's shape, ``(dim, dim, framestack)``."""
        return (self.dim, self.dim, self.framestack)

    def describe(self) -> str:
        """What is applied, in one line (for explain())."""
        stack = f"stack of {self.framestack}" if self.framestack > 1 else "no frame stack"
        parts = [("episodic life", self.episodic_life), ("reward clipping", self.clip_rewards)]
        training = " and ".join(name for name, on in parts if on)
        return (
            f"DeepMind preprocessing: no-op reset ({self.noop_max}), frame skip "
            f"{self.frame_skip} with max-pool, {self.dim}x{self.dim} grayscale, fire reset, "
            f"{stack}" + (f"; in training {training}" if training else "")
        )


def is_ale_id(env: Any) -> bool:
    """Whether ``env`` is an Arcade Learning Environment id such as ``"ALE/Pong-v5"``."""
    return isinstance(env, str) and env.startswith(ALE_PREFIX)


def deepmind_settings(env: Any, config: dict | None) -> DeepMindSettings | None:
    """The DeepMind settings a trainer ``config`` gives ``env``; None where none apply.

    Reads ``config["preprocessor_pref"]`` ("deepmind", the default, "rllib" or None) and the
    model keys ``dim``, ``grayscale`` and ``framestack`` as the user gave them.

    Raises:
        ValueError: a key asks for something the preprocessing of ``env`` cannot do.
    """
    config = config or {}
    pref = config.get("preprocessor_pref", "deepmind")
    if pref not in PREFERENCES:
        raise ValueError(
            f"config key 'preprocessor_pref' takes 'deepmind', 'rllib' or None; got {pref!r}"
        )
    model = dict(config.get("model") or {})
    stack = model.get("framestack", True)
    deepmind = is_ale_id(env) and pref == "deepmind"
    if not deepmind and stack is not True and stack is not False:
        where = (
            f"env '{env}' is not an ALE id" if not is_ale_id(env) else f"preprocessor_pref={pref!r}"
        )
        raise ValueError(
            f"model config 'framestack'={stack!r}: rlkit stacks frames only in the DeepMind "
            f"preprocessing of ALE/* ids, and {where}. If the env already stacks frames, drop "
            "'framestack'; otherwise wrap it in gymnasium.wrappers.FrameStackObservation(env, "
            f"{stack}) with the stack axis last"
        )
    if not deepmind:
        return None
    if model.get("grayscale", True) is False:
        raise ValueError(
            f"model config 'grayscale'=False: the DeepMind preprocessing of '{env}' makes gray "
            "frames. For colour frames set config 'preprocessor_pref': 'rllib' (raw frames, "
            "resized by rlkit's ImagePreprocessor), or drop 'grayscale'"
        )
    dim = model.get("dim", 84)
    if isinstance(dim, int) and not isinstance(dim, bool) and dim > _MAX_DIM:
        raise ValueError(
            f"model config 'dim'={dim}: the DeepMind preprocessing of '{env}' shrinks its "
            f"210x160 frames and cannot make them {dim}x{dim}; pick dim <= {_MAX_DIM} (84 is "
            "DeepMind's)"
        )
    frames = 4 if stack is True else 1 if stack is False else stack
    return DeepMindSettings(dim=dim, framestack=frames)


def evaluation(settings: DeepMindSettings) -> DeepMindSettings:
    """The same frames without the training-only parts (episodic life, reward clipping)."""
    return replace(settings, episodic_life=False, clip_rewards=False)


def check_ale_env(env_id: str, env_config: dict) -> dict:
    """The registry kwargs of ``env_id`` updated by ``env_config``, after checking the ROM.

    Raises:
        ValueError: the ROM is missing, or env_config sets what DeepMind preprocessing owns.
    """
    from ale_py import roms

    spec = gym.registry[env_id]
    kwargs = {**spec.kwargs, **env_config}
    game = kwargs.get("game")
    if roms.get_rom_path(game) is None:
        raise ValueError(
            f"environment '{env_id}' needs the Atari ROM '{game}', which this ale-py install "
            "does not have. ale-py >= 0.9 ships the ROMs: pip install -U 'ale-py>=0.9' (or "
            "pip install 'rlkit[atari]')"
        )
    for key in ("frameskip", "obs_type"):
        if key in env_config:
            raise ValueError(
                f"env_config key '{key}' for '{env_id}': the DeepMind preprocessing sets it "
                "(frame skip 4 with max-pooling, grayscale frames). Drop it, or set config "
                "'preprocessor_pref': 'rllib' for the raw env"
            )
    return kwargs


class FireReset(gym.Wrapper):
    """After a reset, press FIRE (then UP, as DeepMind's wrapper) in games that have FIRE."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        meanings = env.unwrapped.get_action_meanings()
        self._fire = len(meanings) >= 3 and meanings[1] == "FIRE"

    def reset(self, **kwargs):
        """Reset, then FIRE and UP (a reset again should either end the game)."""
        obs, info = self.env.reset(**kwargs)
        if not self._fire:
            return obs, info
        for action in (1, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


class ChannelsLast(gym.ObservationWrapper):
    """(stack, H, W) frames -> (H, W, stack), the (H, W, C) layout rlkit's image models read."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        stack, h, w = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 255, (h, w, stack), np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        """``[stack, H, W]`` -> ``[H, W, stack]``, in that order in memory (not a view)."""
        return np.ascontiguousarray(np.moveaxis(observation, 0, -1))  # [H, W, stack]


def make_atari_env(
    env_id: str, settings: DeepMindSettings, env_config: dict | None, render_mode: str | None
) -> gym.Env:
    """One ALE env with the DeepMind preprocessing built from gymnasium's wrappers.

    Observations are uint8 ``(dim, dim, framestack)``. No episodic life and no reward
    clipping: those are for learning and live in ``DeepMindTraining``.
    """
    check_ale_env(env_id, dict(env_config or {}))
    kwargs = dict(env_config or {})
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    env = gym.make(env_id, frameskip=1, **kwargs)  # AtariPreprocessing skips frames itself
    env = gym.wrappers.AtariPreprocessing(
        env,
        noop_max=settings.noop_max,
        frame_skip=settings.frame_skip,
        screen_size=settings.dim,
        terminal_on_life_loss=False,
        grayscale_obs=True,
    )
    env = FireReset(env)
    if settings.framestack > 1:
        env = gym.wrappers.FrameStackObservation(env, settings.framestack)  # [stack, H, W]
    else:
        env = gym.wrappers.ReshapeObservation(env, (1, settings.dim, settings.dim))
    return ChannelsLast(env)


class DeepMindTraining(gym.vector.VectorWrapper):
    """The training-only part of the DeepMind preprocessing, over a vector of ALE envs.

    - Episodic life: a lost life reports ``terminated`` (no bootstrap across it) while the
      game goes on; the next row, as after any autoreset, is not trained on, and its action
      is FIRE (or NOOP), DeepMind's reset. Reward clipping: the rewards are their sign.
    - The real score: ``info["episode"] = {"r": score, "l": steps}`` and ``info["_episode"]``
      (which envs finished a game) count unclipped rewards over whole games, all lives.

    Args: ``env``, ALE games reporting ``info["lives"]``, episodes ending at game over only;
    ``settings`` (``episodic_life``, ``clip_rewards``, ``obs_shape``); ``channels_first``:
    ``env`` gives ``[E, stack, H, W]``, turned to ``[E, H, W, stack]``; ``restart_action``.
    """

    reports_episodes = True  # rlkit's Sampler takes its episode statistics from info["episode"]

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        settings: DeepMindSettings,
        channels_first: bool,
        restart_action: int,
    ):
        super().__init__(env)
        self.settings = settings
        self._channels_first = channels_first
        self._restart_action = restart_action
        space = gym.spaces.Box(0, 255, settings.obs_shape, np.uint8)
        self.single_observation_space = space
        self.observation_space = gym.vector.utils.batch_space(space, env.num_envs)
        self._start(np.zeros(env.num_envs, dtype=np.int64))

    def _start(self, lives: np.ndarray) -> None:
        E, self._sent = self.num_envs, None
        self._lives, self._score = np.array(lives, dtype=np.int64), np.zeros(E)
        self._length = np.zeros(E, dtype=np.int64)
        self._life_lost, self._game_over = np.zeros(E, dtype=bool), np.zeros(E, dtype=bool)

    def _frames(self, obs: np.ndarray) -> np.ndarray:  # [E, H, W, stack], not a view (below)
        return np.ascontiguousarray(np.moveaxis(obs, 1, -1)) if self._channels_first else obs

    def reset(self, *, seed: Any = None, options: dict | None = None):  # noqa: D102
        obs, info = self.env.reset(seed=seed, options=options)
        self._start(info["lives"])
        return self._frames(obs), info

    def step(self, actions: np.ndarray):
        """Step every env: ``send`` then ``recv``."""
        self.send(actions)
        return self.recv()

    def send(self, actions: np.ndarray) -> None:
        """Start a step of every env on ale-py's threads; returns at once."""
        actions = np.array(actions, copy=True)
        actions[self._life_lost] = self._restart_action
        self._sent = None if hasattr(self.env, "send") else actions  # gymnasium's: at recv
        if self._sent is None:
            self.env.send(actions)

    def recv(self):
        """The step ``send`` started: learning rewards, terminal on a lost life, real scores."""
        restart, sent = self._life_lost, self._sent
        step = self.env.recv() if sent is None else self.env.step(sent)
        obs, reward, terminated, truncated, info = step
        reward = np.asarray(reward, dtype=np.float64)
        lives = np.asarray(info["lives"], dtype=np.int64)
        playing = ~self._game_over  # False on the env's own autoreset rows (a new game)
        self._score[~playing], self._length[~playing] = 0.0, 0
        self._score += np.where(playing, reward, 0.0)
        self._length += playing
        game_over = np.asarray(terminated, bool) | np.asarray(truncated, bool)
        info = dict(info)
        if game_over.any():
            info["episode"] = {"r": self._score.copy(), "l": self._length.copy()}
            info["_episode"] = game_over.copy()
        lost = playing & ~game_over & (lives < self._lives)
        self._life_lost = lost if self.settings.episodic_life else np.zeros_like(lost)
        self._lives, self._game_over = lives, game_over
        learn = np.sign(reward) if self.settings.clip_rewards else reward
        learn[restart] = 0.0  # the restart row is not trained on
        return (
            self._frames(obs),
            learn.astype(np.float32),
            np.asarray(terminated, bool) | self._life_lost,
            np.asarray(truncated, bool),
            info,
        )


def _restart_action(env_id: str, full_action_space: bool) -> int:
    """FIRE (1) where the game's action set has it second, as DeepMind's FireReset expects."""
    from ale_py import Action

    probe = gym.make(env_id, full_action_space=full_action_space)
    try:
        actions = probe.unwrapped._action_set
    finally:
        probe.close()
    return 1 if len(actions) >= 3 and actions[1] == Action.FIRE else 0


def make_atari_vec_env(
    env_id: str,
    num_envs: int,
    settings: DeepMindSettings,
    env_config: dict | None,
    mode: str,
) -> gym.vector.VectorEnv:
    """``num_envs`` ALE envs with the DeepMind preprocessing, training parts included.

    Args:
        env_id: an ``ALE/*`` id.
        num_envs: how many envs E.
        settings: the preprocessing (see DeepMindSettings).
        env_config: ALE keyword arguments (e.g. ``repeat_action_probability``).
        mode: "auto" or "vector": ale-py's native vector env (C++ threads); "sync" or
            "async": gymnasium's wrappers in one process or one process per env. "auto" takes
            the native env unless env_config has keys only gymnasium's ALE env understands.
    """
    env_config = dict(env_config or {})
    kwargs = check_ale_env(env_id, env_config)
    gym_only = sorted(set(env_config) - set(_NATIVE_KEYS))
    if mode == "auto":
        mode = "sync" if gym_only else "vector"
    restart = _restart_action(env_id, bool(kwargs.get("full_action_space", False)))
    if mode == "vector":
        if gym_only:
            raise ValueError(
                f"env_config keys {gym_only} for '{env_id}': ale-py's native vector env takes "
                f"only {list(_NATIVE_KEYS)}; use vector_mode 'sync' or 'async'"
            )
        from ale_py.vector_env import AtariVectorEnv

        vec = AtariVectorEnv(
            kwargs["game"],
            num_envs,
            img_height=settings.dim,
            img_width=settings.dim,
            stack_num=settings.framestack,
            frameskip=settings.frame_skip,
            noop_max=settings.noop_max,
            **_NATIVE_FIXED,
            **{k: kwargs[k] for k in _NATIVE_KEYS if k in kwargs},
        )
        return DeepMindTraining(vec, settings, True, restart)
    frames = evaluation(settings)
    fns = [lambda: make_atari_env(env_id, frames, env_config, None) for _ in range(num_envs)]
    vec = gym.vector.AsyncVectorEnv(fns) if mode == "async" else gym.vector.SyncVectorEnv(fns)
    return DeepMindTraining(vec, settings, False, restart)


def where_applied(vec_env: gym.vector.VectorEnv | None) -> str:
    """Which code runs the frame preprocessing of ``vec_env`` (None: one env, make_env)."""
    inner = getattr(vec_env, "env", None)
    if inner is not None and type(inner).__name__ == "AtariVectorEnv":
        frames = "ale-py's native vector env (AtariVectorEnv)"
    else:
        frames = "gymnasium wrappers (AtariPreprocessing, FireReset, FrameStackObservation)"
    if vec_env is None:
        return f"frames by {frames}"
    return f"frames by {frames}; episodic life and reward clipping by rlkit.atari.DeepMindTraining"


def policy_model_config(env: Any, config: dict) -> dict:
    """The policy's model config: no ``grayscale`` where the DeepMind frames are gray."""
    model = dict(config.get("model") or {})
    if deepmind_settings(env, config) is not None:
        model.pop("grayscale", None)
    return model


def env_note(env: Any, config: dict, vec_env: gym.vector.VectorEnv | None = None) -> str:
    """One line for explain(): what the env side did to the observations, and where."""
    settings = deepmind_settings(env, config)
    if settings is None:
        return ""
    return f"{env}: {settings.describe()}; {where_applied(vec_env)}"
