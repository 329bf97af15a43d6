"""JsonWriter: a trainer's sampled experience as JSON lines (config ``output``).

The format is described in rlkit.offline.json_lines, which reads it back (JsonReader).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np

# What every line holds, and the numpy dtype each field is read back as (None: kept as found,
# int64 for integer actions, float32 for real-valued ones).
FIELDS: dict[str, Any] = {
    "obs": np.float32,
    "actions": None,
    "rewards": np.float32,
    "terminated": np.bool_,
    "truncated": np.bool_,
    "eps_id": np.int64,
    "action_logp": np.float32,
}


def _sanitize(name: str) -> str:
    """An env label as a safe file-name stem ("ALE/Pong-v5" -> "ALE_Pong-v5")."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._") or "env"


class JsonWriter:
    """Append sampler batches to ``directory/<env>-<pid>-<n>.jsonl``, one line per batch.

    The file is created on the first write (``n`` is the first free index, so writers in one
    process never share a file). Every line is written with one call and flushed, so a crash
    can at worst cut the last line, never an earlier one.

    Args:
        directory: where the files go (created if missing).
        env_name: the env's label, used in the file name and stored in each line.
    """

    def __init__(self, directory: str, env_name: str):
        self.directory = str(directory)
        self.env_name = str(env_name)
        self.path: str | None = None
        self._file = None

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        stem = f"{_sanitize(self.env_name)}-{os.getpid()}"
        n = 0
        while True:
            path = os.path.join(self.directory, f"{stem}-{n}.jsonl")
            try:
                # Kept open across write() calls; "x" never reuses an existing file.
                self._file = open(path, "x", encoding="utf-8")  # noqa: SIM115
            except FileExistsError:
                n += 1
                continue
            self.path = path
            return

    def write(self, batch: dict[str, Any]) -> None:
        """Append the valid rows of one time-major sampler batch as one JSON line.

        Args:
            batch: ``Sampler.sample`` output: ``unfiltered_obs [T, E, *obs_shape]``,
                ``actions [T, E, ...]``, ``rewards``, ``terminated``, ``truncated``,
                ``eps_id``, ``action_logp``, ``valid`` (all ``[T, E]``).
        """
        valid = np.swapaxes(batch["valid"], 0, 1).reshape(-1)  # [T, E] -> [E*T], env-major
        if not valid.any():
            return
        line: dict[str, Any] = {"env": self.env_name}
        for key in FIELDS:
            source = np.asarray(batch["unfiltered_obs" if key == "obs" else key])
            # [T, E, ...] -> [E, T, ...] -> [E*T, ...]: each env's rows contiguous.
            rows = np.swapaxes(source, 0, 1).reshape(-1, *source.shape[2:])[valid]
            line[key] = rows.tolist()
        line["obs_shape"] = list(np.asarray(batch["unfiltered_obs"]).shape[2:])
        if np.asarray(batch["unfiltered_obs"]).dtype == np.uint8:  # frames kept unscaled
            line["obs_dtype"] = "uint8"
        if self._file is None:
            self._open()
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file being written (the next write opens a new one)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> JsonWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
