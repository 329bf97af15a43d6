"""gym's API before 0.26, run through an adapter: ``reset() -> obs``, ``step -> 4 values``.

RLlib 1.x-era envs are written for gym < 0.26: ``reset(self)`` takes no ``seed`` and returns
the observation alone, ``step`` returns ``(obs, reward, done, info)``, with a time limit's cut
marked ``info["TimeLimit.truncated"]``. gymnasium (and its vector envs) call
``reset(seed=..., options=...)`` and expect ``(obs, info)`` and five values from ``step``.
``make_env`` wraps such an env in ``OldGymAPI`` (and says so once, as a warning), so the
script's env runs unchanged; gymnasium 1.x has dropped its own compatibility wrapper, and
shimmy's needs the old ``gym`` package installed.

The conversion, step by step:

    reset(seed=s, options=o) -> env.seed(s) when the env has seed() and s is given;
                                obs = env.reset(); returns (obs, {})
    step(a) -> (obs, reward, done, info) -> (obs, reward, terminated, truncated, info) with
               truncated = info.get("TimeLimit.truncated", False), terminated = done and not
               truncated (a 5-value step passes through unchanged)
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import gymnasium as gym


def uses_old_api(env: gym.Env) -> bool:
    """Whether ``env.reset`` is gym < 0.26's: no ``seed`` parameter and no ``**kwargs``."""
    try:
        params = inspect.signature(env.reset).parameters.values()
    except (TypeError, ValueError):  # a builtin or C extension: assume the new API
        return False
    return not any(p.name == "seed" or p.kind == p.VAR_KEYWORD for p in params)


class OldGymAPI(gym.Wrapper):
    """Adapts an env with gym < 0.26's reset and step to gymnasium's (module docstring)."""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        """``(obs, {})`` from the old ``reset()``, seeding through ``env.seed`` if it has one."""
        if seed is not None and callable(getattr(self.env, "seed", None)):
            self.env.seed(seed)
        out = self.env.reset()
        return out, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Gymnasium's five values from the old four (or the five, passed through)."""
        out = self.env.step(action)
        if len(out) == 5:
            return out
        if len(out) != 4:
            raise ValueError(
                f"{type(self.env).__name__}.step returned {len(out)} values; gym's API returns "
                f"(obs, reward, done, info) and gymnasium's (obs, reward, terminated, "
                f"truncated, info)"
            )
        obs, reward, done, info = out
        truncated = bool(info.get("TimeLimit.truncated", False))
        return obs, reward, bool(done) and not truncated, truncated, info


def old_package_hint(env: Any) -> str:
    """For an env (or env class) built on the old ``gym`` package: what to write instead."""
    cls = env if isinstance(env, type) else type(env)
    if not any(c.__module__.split(".")[0] == "gym" for c in cls.__mro__):
        return ""
    return (
        f"; {cls.__name__} subclasses the old 'gym' package's Env: import gymnasium instead "
        f"('import gymnasium as gym', or run python -m rlkit migrate on the script, which "
        f"rewrites the gym imports); its pre-0.26 reset/step then run through OldGymAPI"
    )


def adapt(env: gym.Env, label: str) -> gym.Env:
    """``env`` itself, or wrapped in OldGymAPI when its reset is gym < 0.26's (with a warning)."""
    if not uses_old_api(env):
        return env
    warnings.warn(
        f"env '{label}' has gym's pre-0.26 API (reset() without seed); rlkit runs it through "
        f"rlkit.old_gym.OldGymAPI (reset -> (obs, {{}}), step's done -> terminated/truncated)",
        stacklevel=3,
    )
    return OldGymAPI(env)
