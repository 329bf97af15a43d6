"""Run records: every ``train()`` result written to a run folder, in RLlib's layout.

    >>> trainer = PPO(env="CartPole-v1", config={"logger_config": {"logdir": "runs/ppo"}})
    >>> trainer.train(); trainer.stop()
    >>> sorted(os.listdir("runs/ppo"))          # doctest: +SKIP
    ['events.out.tfevents...', 'params.json', 'progress.csv', 'result.json']

The files, as RLlib (Tune's JSON, CSV and TensorBoard loggers) names them:

============  ===================================================================================
file          what it holds
============  ===================================================================================
params.json   the trainer's full config (every key, defaults included), sorted, indented
result.json   one JSON line per iteration: the result as ``train()`` returned it (nested dicts
              stay nested, as in RLlib; ``pandas.read_json(path, lines=True)`` reads it)
progress.csv  one row per iteration, flat columns: nested keys joined by "/"
              (``info/learner/default_policy/learner_stats/policy_loss``)
events.*      TensorBoard scalars: every number of the flat result, tag = its flat key, step =
              ``timesteps_total`` (RLlib's x-axis); strings and lists are left out
============  ===================================================================================

A key that first appears after the first iteration (an evaluation every 5 iterations, a metric
a custom model starts reporting) gets a column of its own: progress.csv is rewritten with the
wider header (the earlier rows get empty cells), atomically. RLlib instead keeps the first
header and drops later keys; rlkit loses nothing. A key missing from a row is an empty cell.

``logger_config`` (a trainer config key) chooses the folder and the formats; see
``LOGGER_CONFIG_KEYS``. TensorBoard files need the ``tensorboard`` package
(``pip install "rlkit[logs]"``).
"""

from __future__ import annotations

import csv
import json
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from rlkit.records.files import atomic_path, check_writable, write_text
from rlkit.utils.config import suggest

FORMATS = ("json", "csv", "tensorboard")

# logger_config's keys and what each takes; RLlib's logger_config also has "type".
LOGGER_CONFIG_KEYS = {
    "logdir": "the run folder (None: the trainer's logdir, ~/rlkit_results/<Algo>_<env>_<time>)",
    "loggers": f"the formats to write, a list from {list(FORMATS)} (default: all three)",
}

RUN_FILES = ("result.json", "progress.csv", "params.json")
INSTALL_LOGS = 'pip install "rlkit[logs]" (or pip install tensorboard)'


def check_logger_config(value: Any) -> None:
    """Check a ``logger_config`` dict: known keys, a folder name, known formats.

    Raises:
        ValueError: naming the key, what it takes and (for a misspelling) the closest key.
    """
    for key in value:
        if key == "type":
            raise ValueError(
                "logger_config key 'type' (RLlib's Logger class) is not rlkit's: rlkit chooses "
                f"formats by name, e.g. logger_config={{'loggers': {list(FORMATS)}}}"
            )
        if key not in LOGGER_CONFIG_KEYS:
            raise ValueError(
                f"unknown key {key!r} in logger_config{suggest(str(key), LOGGER_CONFIG_KEYS)}; "
                f"valid keys are: {', '.join(LOGGER_CONFIG_KEYS)}"
            )
    logdir = value.get("logdir")
    if logdir is not None and not (isinstance(logdir, (str, os.PathLike)) and str(logdir)):
        raise ValueError(f"logger_config key 'logdir' takes a folder path or None; got {logdir!r}")
    loggers = value.get("loggers", FORMATS)
    if isinstance(loggers, str) or not isinstance(loggers, Sequence):
        raise ValueError(
            f"logger_config key 'loggers' takes a list from {list(FORMATS)}; got {loggers!r}"
        )
    for name in loggers:
        if name not in FORMATS:
            raise ValueError(
                f"logger_config key 'loggers' has unknown format {name!r}"
                f"{suggest(str(name), FORMATS)}; formats are: {', '.join(FORMATS)}"
            )


def open_logger(
    options: Mapping[str, Any], params: Any, default_logdir: Callable[[], str]
) -> ResultLogger:
    """The ResultLogger a checked ``logger_config`` asks for.

    Args:
        options: the logger_config dict.
        params: the trainer's config (written as params.json).
        default_logdir: makes the folder used when options has no "logdir".
    """
    folder = options.get("logdir")
    folder = os.fspath(folder) if folder else default_logdir()
    return ResultLogger(folder, options.get("loggers", FORMATS), params=params)


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package (needed for event files) is installed."""
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def flatten_result(result: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> one level, keys joined by "/" (RLlib's flat names).

    >>> flatten_result({"a": 1, "info": {"learner": {"loss": 0.5}}})
    {'a': 1, 'info/learner/loss': 0.5}
    """
    flat: dict[str, Any] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_result(value, f"{name}/"))
        else:
            flat[name] = value
    return flat


def to_json(value: Any) -> Any:
    """A JSON-ready stand-in for what ``json`` cannot write (numpy, classes, functions)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, type) or callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', value)}"
    return repr(value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (str, bool, numbers.Number)):
        return value.item() if isinstance(value, np.generic) else value
    return json.dumps(value, default=to_json)  # a list or array: one JSON cell


def _is_scalar(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


class ResultLogger:
    """Writes every result it is given to ``logdir`` (result.json, progress.csv, events).

    Args:
        logdir: the run folder; created; it must not hold another run's files.
        loggers: formats, a subset of FORMATS.
        params: the config, written once as params.json.

    Raises:
        OSError: the folder cannot be written (one line, with the fix).
        ValueError: the folder holds a previous run.
        ImportError: "tensorboard" asked for and the package is missing.
    """

    def __init__(self, logdir: str, loggers: Sequence[str] = FORMATS, params: Any = None):
        fix = "choose another folder with logger_config={'logdir': ...} (or --out DIR)"
        self.logdir = check_writable(logdir, "the run's logs", fix)
        self.loggers = tuple(loggers)
        previous = [f for f in RUN_FILES if os.path.exists(os.path.join(self.logdir, f))]
        if previous:
            raise ValueError(
                f"log folder '{self.logdir}' holds a previous run ({', '.join(previous)}); "
                f"choose a new folder with logger_config={{'logdir': ...}}: a run never "
                f"overwrites another"
            )
        self._tb = self._open_tensorboard() if "tensorboard" in self.loggers else None
        self._columns: list[str] = []
        if params is not None:
            text = json.dumps(params, indent=2, sort_keys=True, default=to_json)
            write_text(os.path.join(self.logdir, "params.json"), text + "\n")

    def _open_tensorboard(self) -> Any:
        if not tensorboard_available():
            raise ImportError(
                f"logger_config asks for TensorBoard files but the tensorboard package is not "
                f"installed: {INSTALL_LOGS}, or leave it out: "
                f"logger_config={{'loggers': ['json', 'csv']}}"
            )
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=self.logdir)

    @property
    def paths(self) -> dict[str, str]:
        """Each written file's path by name (the events file once written)."""
        names = ["params.json", "result.json", "progress.csv"]
        names += [f for f in os.listdir(self.logdir) if f.startswith("events.out.tfevents")]
        return {n: os.path.join(self.logdir, n) for n in names}

    def on_result(self, result: Mapping[str, Any]) -> None:
        """Append one iteration's result to every format."""
        flat = flatten_result(result)
        if "json" in self.loggers:
            line = json.dumps(result, default=to_json)
            with open(os.path.join(self.logdir, "result.json"), "a", encoding="utf-8") as f:
                f.write(line + "\n")
        if "csv" in self.loggers:
            self._write_csv_row(flat)
        if self._tb is not None:
            step = int(flat.get("timesteps_total") or flat.get("training_iteration") or 0)
            for key, value in flat.items():
                if _is_scalar(value):
                    self._tb.add_scalar(key, float(value), global_step=step)
            self._tb.flush()  # TensorBoard (and a reader) sees each iteration at once

    def _write_csv_row(self, flat: Mapping[str, Any]) -> None:
        path = os.path.join(self.logdir, "progress.csv")
        new = [k for k in flat if k not in self._columns]
        row = {k: _csv_cell(v) for k, v in flat.items()}
        if new and self._columns:  # a wider header: rewrite the file, earlier rows kept
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            self._columns += new
            with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, self._columns)
                writer.writeheader()
                writer.writerows(rows + [row])
            return
        first = not self._columns
        self._columns += new
        with open(path, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, self._columns)
            if first:
                writer.writeheader()
            writer.writerow(row)

    def close(self) -> None:
        """Flush and close the TensorBoard writer (the text files are closed after each line)."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None
