"""Config keys as data: one ``Key`` per key with its type, range, default and meaning.

Each algorithm declares its table (``PPO.KEYS``, on top of ``COMMON_KEYS``). The same table
checks a config when a trainer is built, writes the key reference (``docs/CONFIG.md``, see
``markdown_table``) and tells the Playground's editors what each key takes
(``algorithm_keys("PPO")``). A value of the wrong type or range is an error that names the
algorithm, the key, the value given and what the key takes:

    >>> COMMON_KEYS["lr"].check(float("inf"), "PPO")
    Traceback (most recent call last):
    ...
    ValueError: PPO config key 'lr' takes a finite number > 0; got inf
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

# The trainer registry's names, importable from here too (their home until the move).
from rlkit.algorithms.config.registry import ALGORITHMS, algorithm_keys, register_algorithms  # noqa: F401, E501
from rlkit.envs import VECTOR_MODES
from rlkit.filters import FILTERS
from rlkit.records.logger import check_logger_config
from rlkit.utils.config import merge_model_config, suggest

KINDS = ("int", "float", "bool", "choice", "dict", "schedule", "paths", "ints", "any")


@dataclass(frozen=True)
class Key:
    """One config key: what it takes, its default and what it means.

    Attributes:
        name: the key, e.g. "lr".
        default: its default value.
        doc: one line on what it does (the reference docs print it).
        kind: one of KINDS: "int" (bool is not an int), "float" (any finite real number),
            "bool", "choice" (one of ``choices``), "dict", "schedule" ([[timestep, value],
            ...]), "paths" (a path, glob or list of them), "ints" (layer widths), "any".
        low, high: the range of an int, a float or a schedule's values (None: unbounded).
        low_open: whether ``low`` itself is excluded (``> low`` rather than ``>= low``).
        choices: the values a "choice" key takes.
        none: whether None is accepted (its meaning belongs in ``doc``).
        check_nested: a further check of an accepted value, ``check_nested(value)``; raises
            ValueError with its own message (e.g. the model config's keys).
        hint: appended to the error, e.g. what to do instead.
        also: literal strings accepted besides the kind's values (e.g. "auto").
        words: what the key takes, in words, where the kind's words say too little.
    """

    name: str
    default: Any
    doc: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple = ()
    none: bool = False
    check_nested: Callable[[Any], Any] | None = None
    hint: str = ""
    also: tuple = ()
    words: str = ""

    def takes(self) -> str:
        """What the key takes, in words: 'a finite number > 0', 'None or an int >= 1'."""
        words = {
            "int": "an int",
            "float": "a finite number",
            "bool": "True or False",
            "choice": _either(self.choices),
            "dict": "a dict",
            "schedule": "a list of [timestep, value] pairs with increasing timesteps",
            "paths": "a path, glob or directory (or a list of them)",
            "ints": "a list of positive ints (layer widths), e.g. [256]",
            "any": "any value",
        }[self.kind]
        words = self.words or words
        bounds = self._range_words()
        if bounds and self.kind == "schedule":
            words += f" and values {bounds}, e.g. [[0, 3e-4], [100000, 1e-5]]"
        elif bounds:
            words += f" {bounds}"
        words = " or ".join([repr(a) for a in self.also] + [words])
        return f"None or {words}" if self.none else words

    def _range_words(self) -> str:
        if self.kind not in ("int", "float", "schedule"):
            return ""
        if self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            return f"in {left}{_num(self.low)}, {_num(self.high)}]"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {_num(self.low)}"
        if self.high is not None:
            return f"<= {_num(self.high)}"
        return ""

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has the right type and range (nested checks aside)."""
        if value is None:
            return self.none
        if isinstance(value, str) and value in self.also:
            return True
        checks = {
            "int": lambda v: _is_int(v) and self._in_range(v),
            "float": lambda v: _is_real(v) and self._in_range(v),
            "bool": lambda v: isinstance(v, (bool, np.bool_)),
            "choice": lambda v: isinstance(v, str) and v in self.choices,
            "dict": lambda v: isinstance(v, Mapping),
            "schedule": self._is_schedule,
            "ints": lambda v: isinstance(v, (list, tuple)) and all(_is_int(x) and x > 0 for x in v),
            "paths": _is_paths,
            "any": lambda v: True,
        }
        return bool(checks[self.kind](value))

    def _in_range(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def _is_schedule(self, value: Any) -> bool:
        if not (isinstance(value, (list, tuple)) and value):
            return False
        last = -math.inf
        for point in value:
            if not (isinstance(point, (list, tuple)) and len(point) == 2):
                return False
            t, v = point
            if not (_is_real(t) and t >= 0 and t >= last and _is_real(v) and self._in_range(v)):
                return False
            last = t
        return True

    def check(self, value: Any, where: str) -> None:
        """Raise ValueError naming ``where`` (e.g. "PPO"), the key, the value and what it takes."""
        if not self.accepts(value):
            got = repr(value)
            if value is not None and not _is_real(value) and self.kind in ("int", "float"):
                got += f" (a {type(value).__name__})"
            hint = f"; {self.hint}" if self.hint else ""
            if self.kind == "choice" and isinstance(value, str):
                got += suggest(value, self.choices)
            raise ValueError(
                f"{where} config key '{self.name}' takes {self.takes()}; got {got}{hint}"
            )
        if value is not None and self.check_nested is not None:
            self.check_nested(value)


def _either(values: Iterable) -> str:
    """Values in words: "'a', 'b' or 'c'"."""
    names = [repr(v) for v in values]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_paths(value: Any) -> bool:
    items = value if isinstance(value, (list, tuple)) else [value]
    return bool(items) and all(isinstance(p, str) and p for p in items)


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )


def _check_device(value: Any) -> None:
    ok = isinstance(value, str) and (
        value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit())
    )
    if not ok:
        raise ValueError(
            f"config key 'device' takes 'auto', 'cpu', 'cuda' or 'cuda:<index>'; got {value!r}"
        )


def _check_model(value: Any) -> None:
    merge_model_config(value)  # unknown model keys and bad values, with the key named


def table(*groups: Iterable[Key]) -> dict[str, Key]:
    """Keys by name; a later group's key replaces an earlier one of the same name."""
    out: dict[str, Key] = {}
    for group in groups:
        for key in group:
            out[key.name] = key
    return out


def defaults(keys: Mapping[str, Key]) -> dict[str, Any]:
    """{name: default} of a table."""
    return {name: key.default for name, key in keys.items()}


def override(key: Key, **changes: Any) -> Key:
    """A copy of ``key`` with other fields, e.g. an algorithm's own default."""
    return replace(key, **changes)


# RLlib's framework names; rlkit runs torch only.
FRAMEWORKS = ("torch", "tf", "tf2", "tfe", "jax")

COMMON_KEYS: dict[str, Key] = table(
    [
        Key("num_envs", 8, "parallel env copies E in the local sampler", "int", 1),
        Key(
            "rollout_fragment_length",
            128,
            "steps T each env takes per fragment ('auto': as if left out)",
            "int",
            1,
            also=("auto",),
        ),
        Key(
            "seed",
            None,
            "seeds torch, numpy and the envs (None: unseeded)",
            "int",
            0,
            2**32 - 1,
            none=True,
        ),
        Key(
            "device",
            "auto",
            "where the learner runs: 'auto' (CUDA when there is one), 'cpu', 'cuda', 'cuda:1'",
            "any",
            check_nested=_check_device,
            words="'auto', 'cpu', 'cuda' or 'cuda:<index>'",
        ),
        Key(
            "vector_mode",
            "auto",
            "how the env copies run (see rlkit.envs)",
            "choice",
            choices=VECTOR_MODES,
        ),
        Key(
            "sample_overlap",
            False,
            "step half the envs while the policy acts for the other (rlkit.overlap): True, "
            "or 'auto' where the vector env can (ale-py's); False: lockstep",
            "bool",
            also=("auto",),
        ),
        Key(
            "observation_filter",
            "NoFilter",
            "observation normalisation",
            "choice",
            choices=tuple(FILTERS),
        ),
        Key(
            "model",
            {},
            "model keys (MODEL_DEFAULTS; listed below)",
            "dict",
            check_nested=_check_model,
        ),
        Key("env_config", {}, "passed to the env creator", "dict"),
        Key("lr", 3e-4, "Adam's learning rate", "float", 0, low_open=True),
        Key(
            "lr_schedule",
            None,
            "[[timestep, lr], ...] piecewise linear in timesteps_total; replaces lr (it may "
            "decay to 0, as RLlib's schedules often do)",
            "schedule",
            0,
            none=True,
        ),
        Key(
            "grad_clip",
            None,
            "max global gradient norm (None: no clipping)",
            "float",
            0,
            low_open=True,
            none=True,
        ),
        Key("adam_epsilon", 1e-8, "Adam's eps", "float", 0, low_open=True),
        Key(
            "output",
            None,
            "directory to write sampled batches to as JSON lines",
            "paths",
            none=True,
        ),
        Key(
            "logger_config",
            None,
            "write each train() result to a run folder (rlkit.records.logger): {'logdir': "
            "folder or None (the trainer's logdir), 'loggers': ['json', 'csv', "
            "'tensorboard']}; None writes nothing",
            "dict",
            none=True,
            check_nested=check_logger_config,
        ),
        Key(
            "num_threads",
            "auto",
            "threads of every pool (torch, BLAS, OpenMP) while rlkit runs; 'auto': per call, one"
            " per 100M multiply-adds of its work, at most the CPUs free (rlkit.utils.threads)",
            "int",
            1,
            also=("auto",),
        ),
        Key(
            "engine",
            "torch",
            "what runs the model and the gradient step (rlkit.engines): 'torch' (the code as "
            "written), 'numpy' (the fast twin of the built-in MLP, PPO's and A2C's losses) or "
            "'auto' (numpy where it is an exact twin of the torch code, else torch)",
            "choice",
            choices=("auto", "torch", "numpy"),
        ),
        Key(
            "preprocessor_pref",
            "deepmind",
            "ALE/* ids: 'deepmind' (DeepMind's preprocessing, rlkit.atari), 'rllib' or None "
            "(raw frames resized by the ImagePreprocessor)",
            "choice",
            choices=("deepmind", "rllib"),
            none=True,
        ),
        Key(
            "min_sample_timesteps_per_iteration",
            0,
            "train() repeats sample-and-learn until this many env steps were sampled "
            "(RLlib's; older name timesteps_per_iteration)",
            "int",
            0,
        ),
        # RLlib's common keys, with RLlib's meaning.
        Key(
            "env",
            None,
            "the env; the same as the env= argument",
            "any",
            none=True,
            words="a gymnasium id, a registered name or an env class",
        ),
        Key(
            "framework",
            "torch",
            "RLlib's deep-learning framework; rlkit runs PyTorch only",
            "choice",
            choices=("torch",),
            hint="rlkit is PyTorch only: write models as torch modules (rlkit.models.Model) "
            "and set framework 'torch' or leave it out",
        ),
        Key(
            "num_gpus",
            None,
            "RLlib's GPUs for the learner: 0 means device 'cpu', 1 (or a fraction) 'cuda'; "
            "None leaves it to device",
            "float",
            0,
            1,
            none=True,
            hint="rlkit learns on one device",
        ),
        Key(
            "num_env_runners",
            0,
            'Ray actors that sample (rlkit.scaling, pip install "rlkit[ray]"; older name '
            "num_workers); 0 samples in this process",
            "int",
            0,
        ),
        Key(
            "num_envs_per_env_runner",
            None,
            "RLlib's name for num_envs, the env copies of each runner (or of this process); "
            "older name num_envs_per_worker",
            "int",
            1,
            none=True,
        ),
    ]
)
