"""Environments: ``register_env`` and the makers the trainers and widgets use.

An ``env`` argument anywhere in rlkit is one of
- a name given to ``register_env(name, creator)``; ``creator(env_config)`` returns a gym.Env,
- a gymnasium id (``"CartPole-v1"``, ``"ALE/Pong-v5"``, ``"MiniGrid-Empty-5x5-v0"``),
- a gym.Env subclass, called with ``env_config`` if its constructor takes an argument.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from rlkit import atari, old_gym

_ENV_CREATORS: dict[str, Callable[[dict], gym.Env]] = {}

# Namespaces whose environments live in optional packages that register themselves on import.
_OPTIONAL_NAMESPACES = {
    "ALE/": ("ale_py", "ale-py", "atari"),
    "MinAtar/": ("minatar.gym", "minatar", "minatar"),
    "MiniGrid-": ("minigrid", "minigrid", "minigrid"),
    "BabyAI-": ("minigrid", "minigrid", "minigrid"),
}


def register_env(name: str, creator: Callable[[dict], gym.Env]) -> None:
    """Make ``name`` usable as ``env=name``; ``creator(env_config)`` must return a gym.Env."""
    if not callable(creator):
        raise TypeError(
            f"register_env('{name}', ...) needs a callable creator(env_config); got {creator!r}"
        )
    _ENV_CREATORS[name] = creator


def _import_optional(env_id: str) -> None:
    for prefix, (module, package, extra) in _OPTIONAL_NAMESPACES.items():
        if env_id.startswith(prefix):
            try:
                mod = importlib.import_module(module)
            except ImportError as err:
                raise ImportError(
                    f"environment '{env_id}' needs the package '{package}': "
                    f"pip install '{package}' (or pip install 'rlkit[{extra}]')"
                ) from err
            if hasattr(mod, "register_envs"):  # MinAtar registers on request
                if not any(k.startswith(prefix) for k in gym.registry):
                    mod.register_envs()
            elif hasattr(gym, "register_envs"):
                gym.register_envs(mod)
            if hasattr(mod, "LoggerMode"):  # ale_py: no banner on stderr for every env made
                mod.ALEInterface.setLoggerMode(mod.LoggerMode.Error)


def _unknown_env(name: str) -> ValueError:
    known = list(_ENV_CREATORS) + list(gym.registry)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ValueError(
        f"unknown environment '{name}'{hint}: pass a gymnasium id, an env class, or a name "
        f"registered with rlkit.register_env(name, creator)"
    )


def env_label(env: Any) -> str:
    """A short name for an env spec (for results, plots and widgets)."""
    return env if isinstance(env, str) else getattr(env, "__name__", type(env).__name__)


def make_env(
    env: Any,
    env_config: dict | None = None,
    render_mode: str | None = None,
    config: dict | None = None,
) -> gym.Env:
    """Create one environment from a registered name, a gymnasium id or an env class.

    Args:
        env: a name given to register_env, a gymnasium id, or a gymnasium.Env subclass.
        env_config: passed to the creator (or to the class, if it takes a config).
        render_mode: gymnasium's render mode, e.g. "rgb_array" for recorded frames.
        config: a trainer config; its ``preprocessor_pref`` and model keys ``dim`` and
            ``framestack`` decide the DeepMind preprocessing of ``ALE/*`` ids (see
            rlkit.atari). None: the defaults, DeepMind's 84x84 stack of 4 gray frames. The
            training-only parts (episodic life, reward clipping) are never applied here.
    """
    env_config = dict(env_config or {})
    if isinstance(env, str) and env in _ENV_CREATORS:
        made = _ENV_CREATORS[env](env_config)
    elif isinstance(env, type) and issubclass(env, gym.Env):
        takes_config = _takes_config(env)
        made = env(env_config) if takes_config else env()
    elif isinstance(env, str):
        _import_optional(env)
        if env not in gym.registry:
            raise _unknown_env(env)
        settings = atari.deepmind_settings(env, config)
        if settings is not None:
            return atari.make_atari_env(env, atari.evaluation(settings), env_config, render_mode)
        kwargs = dict(env_config)
        if render_mode is not None:
            kwargs["render_mode"] = render_mode
        return gym.make(env, **kwargs)
    else:
        raise TypeError(
            f"env must be a gymnasium id, a registered name or a gym.Env class; got {env!r}"
            f"{old_gym.old_package_hint(env)}"
        )
    if not isinstance(made, gym.Env):
        raise TypeError(
            f"the creator for env '{env_label(env)}' returned {type(made).__name__}, "
            f"not a gymnasium.Env{old_gym.old_package_hint(made)}"
        )
    if render_mode is not None and made.render_mode != render_mode:
        # A wrapper's render_mode reads through to the env it wraps, which is where it is set.
        made.unwrapped.render_mode = render_mode
    return old_gym.adapt(made, env_label(env))  # gym < 0.26's reset/step: an adapter


def _takes_config(env_class: type) -> bool:
    """Whether the env class's constructor has a positional parameter for env_config."""
    if env_class.__init__ is object.__init__:
        return False
    params = list(inspect.signature(env_class.__init__).parameters.values())[1:]  # drop self
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def has_vector_entry_point(env: Any) -> bool:
    """Whether ``env`` is a gymnasium id with a numpy-vectorised implementation."""
    if not isinstance(env, str) or env in _ENV_CREATORS:
        return False
    _import_optional(env)
    spec = gym.registry.get(env)
    return spec is not None and spec.vector_entry_point is not None


VECTOR_MODES = ("auto", "sync", "async", "vector")


def make_vec_env(
    env: Any,
    num_envs: int,
    env_config: dict | None = None,
    mode: str = "auto",
    config: dict | None = None,
) -> gym.vector.VectorEnv:
    """A gymnasium vector env of ``num_envs`` copies (gymnasium's next-step autoreset).

    Args:
        env: anything make_env accepts.
        num_envs: E, the number of copies.
        env_config: passed to every copy's creator.
        mode: "sync" (one process, a loop over envs), "async" (one subprocess per env),
            "vector" (the env's numpy-vectorised implementation, e.g. CartPole's, or ale-py's
            native one), or "auto": "vector" when the env has one, else "sync".
        config: a trainer config, for ``ALE/*`` ids as in make_env; here the DeepMind
            preprocessing includes its training parts (rlkit.atari.DeepMindTraining).
    """
    if mode not in VECTOR_MODES:
        raise ValueError(f"vector env mode '{mode}' is not one of {', '.join(VECTOR_MODES)}")
    if isinstance(env, str) and env not in _ENV_CREATORS:
        _import_optional(env)
    settings = atari.deepmind_settings(env, config)
    if settings is not None and env in gym.registry:
        return atari.make_atari_vec_env(env, num_envs, settings, env_config, mode)
    if atari.is_ale_id(env) and mode != "sync" and mode != "async":
        if mode == "vector":  # ale-py's native vector env always preprocesses the frames
            raise ValueError(
                f"vector_mode 'vector' for '{env}' is ale-py's native vector env, which "
                "preprocesses frames the DeepMind way; with preprocessor_pref "
                f"{(config or {}).get('preprocessor_pref')!r} use vector_mode 'sync' or 'async'"
            )
        mode = "sync"
    if mode == "auto":
        mode = "vector" if has_vector_entry_point(env) and not env_config else "sync"
    if mode == "vector":
        if not has_vector_entry_point(env):
            raise ValueError(
                f"environment '{env_label(env)}' has no numpy-vectorised "
                f"implementation; use vector mode 'sync' or 'async'"
            )
        return gym.make_vec(
            env,
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            **dict(env_config or {}),
        )
    fns = [lambda: make_env(env, env_config, config=config) for _ in range(num_envs)]
    if mode == "async":
        return gym.vector.AsyncVectorEnv(fns)
    return gym.vector.SyncVectorEnv(fns)
