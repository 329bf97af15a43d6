"""Offline data: write sampled experience as JSON lines, read it back for BC or custom losses.

    trainer (config["output"]) -> JsonWriter -> dir/<env>-<pid>-<n>.jsonl -> JsonReader

One line of a file is one call of ``JsonWriter.write``: the valid rows of one sampler batch,
flattened env-major (each env's rows contiguous, so an episode's steps stay in order)::

    {"env": "CartPole-v1", "obs_shape": [4],
     "obs": [[...], ...],        # [N, *obs_shape]  preprocessed, NOT filtered
     "actions": [...],           # [N, ...]         learner layout (see rlkit.policy)
     "rewards": [...], "terminated": [...], "truncated": [...],
     "eps_id": [...], "action_logp": [...]}          # [N] each

Image frames that the policy keeps unscaled (``Policy.byte_scale``: uint8 frames, no filter)
are written as their bytes 0..255 with ``"obs_dtype": "uint8"`` and read back as uint8; a
reader's policy scales them as its own preprocessor says (``Policy.from_stored``). Without
``obs_dtype`` a line's obs are float32.

RLlib's own JSON lines (``SampleBatch`` columns, ``dones`` or ``terminateds``/``truncateds``)
are read too: ``rlkit.offline.rllib_lines`` maps them onto these fields.

Observations are stored before the observation filter, because the filter's statistics
change while a trainer runs; whoever reads the data applies its own filter.

Example (the seed's ``reader.next()`` inside a custom loss)::

    reader = JsonReader("/tmp/cartpole-out")
    batch = reader.next()          # one line: {"obs": [N, 4] float32, "actions": [N] int64, ...}
    rows = reader.sample(256)      # 256 random rows from all files
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from rlkit.offline.rllib_lines import from_rllib, is_rllib_line

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
META = ("env", "obs_shape")
OBS_DTYPES = {"float32": np.float32, "uint8": np.uint8}  # the optional "obs_dtype" field
# The longest line JsonReader reads (characters): a 1,024-step batch of 84x84x4 Atari frames
# is ~90-120 M characters; a longer line is refused naming its file and line, before it is read
# whole (a line of 300 MB would take gigabytes as Python lists).
MAX_LINE_CHARS = 256 * 2**20


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


def _expand(inputs: Any) -> list[str]:
    """Paths of every file that ``inputs`` (path, glob, directory or a list) names."""
    patterns = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not patterns:
        raise FileNotFoundError("JsonReader got an empty list of inputs; pass a path or glob")
    files: list[str] = []
    for pattern in map(str, patterns):
        if os.path.isdir(pattern):
            found = sorted(
                glob.glob(os.path.join(pattern, "*.jsonl"))
                + glob.glob(os.path.join(pattern, "*.json"))
            )
        elif glob.has_magic(pattern):
            found = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
        else:
            found = [pattern] if os.path.isfile(pattern) else []
        if not found:
            raise FileNotFoundError(
                f"JsonReader input '{pattern}' matches no file; give a .jsonl file, a glob "
                f"such as 'out/*.jsonl', or a directory written by config['output']"
            )
        files += [f for f in found if f not in files]
    return files


def _field_array(values: list, key: str, dtype: Any, where: str) -> np.ndarray:
    """One field of a line as a numpy array.

    Raises:
        ValueError: naming the line, field and row when the field is ragged, holds a
            non-number (JSON null, a string) or a NaN / Infinity.
    """
    try:
        raw = np.asarray(values)
        if raw.dtype == object or raw.dtype.kind in "USV":
            raise TypeError("it holds null, a string or rows of different lengths")
        arr = raw.astype(dtype if dtype is not None else np.float32)
        if dtype is None and raw.dtype.kind in "iub":
            arr = raw.astype(np.int64)  # integer actions stay integers
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{where}: field '{key}' is not a rectangular array of numbers ({err}); "
            f"every entry must be a number (JSON null is not)"
        ) from err
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        row = int(np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))[0])
        raise ValueError(
            f"{where}: field '{key}' holds NaN or Infinity in row {row}; offline data must be "
            f"finite (one NaN would turn every weight trained on it into NaN)"
        )
    return arr


def _frames_array(values: list, where: str) -> np.ndarray:
    """The obs of a line with ``"obs_dtype": "uint8"``: whole numbers 0..255 -> uint8."""
    arr = _field_array(values, "obs", np.float64, where)
    bad = (arr != np.round(arr)) | (arr < 0) | (arr > 255)
    if bad.any():
        row = int(np.flatnonzero(bad.reshape(len(arr), -1).any(axis=1))[0])
        raise ValueError(
            f"{where}: obs_dtype is 'uint8' but obs row {row} holds a value that is not a "
            f"whole number 0..255; fix the line, or remove obs_dtype for float observations"
        )
    return arr.astype(np.uint8)


def _line_arrays(data: dict, where: str) -> dict[str, np.ndarray]:
    """Every field of a checked line as a numpy array (obs as ``obs_dtype`` says)."""
    obs_dtype = data.get("obs_dtype", "float32")
    if obs_dtype not in OBS_DTYPES:
        raise ValueError(
            f"{where}: obs_dtype must be one of {', '.join(map(repr, OBS_DTYPES))} (or left "
            f"out, for float32); got {obs_dtype!r}"
        )
    out = {
        key: _frames_array(data[key], where)
        if key == "obs" and obs_dtype == "uint8"
        else _field_array(data[key], key, dtype, where)
        for key, dtype in FIELDS.items()
    }
    return out


def parse_line(text: str, path: str, lineno: int) -> tuple[dict[str, np.ndarray], tuple]:
    """One JSON line -> (dict of numpy arrays, obs_shape); ValueError naming file and line."""
    where = f"{path}, line {lineno}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err}); was the file cut by a crash?") from err
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, found {type(data).__name__}")
    if is_rllib_line(data):  # RLlib's SampleBatch lines (rlkit.offline.rllib_lines)
        data = from_rllib(data, where)
    missing = [k for k in (*FIELDS, *META) if k not in data]
    if missing:
        raise ValueError(
            f"{where}: missing key(s) {', '.join(missing)}; every line needs "
            f"{', '.join((*FIELDS, *META))} (as written by JsonWriter)"
        )
    not_lists = [k for k in FIELDS if not isinstance(data[k], list)]
    if not_lists:
        raise ValueError(f"{where}: field(s) {', '.join(not_lists)} must be lists (one per row)")
    lengths = {k: len(data[k]) for k in FIELDS}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{where}: ragged fields, every field needs one entry per row: {lengths}")
    shape = data["obs_shape"]
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise ValueError(f"{where}: obs_shape must be a list of sizes such as [4]; got {shape!r}")
    obs_shape = tuple(shape)
    n = lengths["obs"]
    if n == 0:
        raise ValueError(
            f"{where}: the line holds zero rows (empty lists); JsonWriter never writes one. "
            f"Remove the line, or write at least one row"
        )
    out = _line_arrays(data, where)
    out["obs"] = out["obs"].reshape(n, *obs_shape) if n == 0 else out["obs"]
    if out["obs"].shape != (n, *obs_shape):
        raise ValueError(
            f"{where}: obs has shape {list(out['obs'].shape)} but obs_shape says {[n, *obs_shape]}"
        )
    return out, obs_shape


def _text_lines(path: str, max_chars: int = MAX_LINE_CHARS) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of a UTF-8 file.

    ValueError naming a file that is not text, or a line longer than ``max_chars`` (read no
    further than that: a huge line is refused before it fills the memory).
    """
    with open(path, encoding="utf-8") as f:
        lineno = 0
        try:
            while text := f.readline(max_chars + 1):
                lineno += 1
                if len(text.rstrip("\n")) > max_chars:
                    raise ValueError(
                        f"{path}, line {lineno}: the line is longer than {max_chars:,} "
                        "characters, JsonReader's limit (max_line_chars); JsonWriter writes one "
                        "sampler batch per line, far below it. Split the batch into several "
                        "lines, or pass JsonReader(..., max_line_chars=...) if you trust the file"
                    )
                yield lineno, text
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{path}, line {lineno + 1}: not a UTF-8 text file ({err.reason} at byte "
                f"{err.start} of the chunk read); JsonReader reads JSON lines as written by "
                f"config['output'], not binary files such as checkpoints or .npz"
            ) from err


class JsonReader:
    """Read what ``JsonWriter`` wrote.

    Args:
        inputs: a file, a glob ("out/*.jsonl"), a directory (its ``*.jsonl`` and ``*.json``
            files) or a list of those.
        max_line_chars: the longest line read (``MAX_LINE_CHARS``, 256 Mi characters); a
            longer one is a ValueError naming the file and line.

    Raises:
        FileNotFoundError: an input that matches no file (the message names it).
        ValueError (when reading): a malformed line, naming the file and 1-based line number.

    Attributes:
        files: the matched files, in order.
        obs_shape: shape of one stored observation (known after the first line is read).
        obs_dtype: its dtype, float32 or uint8 (frames kept unscaled), likewise.
    """

    def __init__(self, inputs: Any, max_line_chars: int = MAX_LINE_CHARS):
        self.files = _expand(inputs)
        self.max_line_chars = int(max_line_chars)
        self.obs_shape: tuple | None = None
        self.obs_dtype: np.dtype | None = None
        self._all: dict[str, np.ndarray] | None = None
        self._stream: Iterator[dict[str, np.ndarray]] | None = None

    def _lines(self) -> Iterator[dict[str, np.ndarray]]:
        """Every line of every file, in order, parsed and checked for one obs shape and dtype."""
        for path in self.files:
            for lineno, text in _text_lines(path, self.max_line_chars):
                if not text.strip():
                    continue
                batch, obs_shape = parse_line(text, path, lineno)
                where = f"{path}, line {lineno}"
                self._same_as_earlier_lines(
                    "obs_shape",
                    obs_shape,
                    where,
                    lambda first, now: (
                        f"obs_shape {list(now)} differs from {list(first)} of "
                        "earlier lines; read one env's data"
                    ),
                )
                self._same_as_earlier_lines(
                    "obs_dtype",
                    batch["obs"].dtype,
                    where,
                    lambda first, now: (
                        f"obs are {now} but earlier lines hold {first}; unscaled "
                        "uint8 frames and scaled float32 observations cannot be mixed: read one "
                        "recording's files"
                    ),
                )
                self._line_of_batch = (path, lineno)
                yield batch

    def _same_as_earlier_lines(
        self, name: str, value: Any, where: str, message: Callable[[Any, Any], str]
    ) -> None:
        """Keep the first line's ``name`` (obs_shape, obs_dtype); a later line must match it.

        When it does not: ValueError ``"{where}: {message(first, value)}"``.
        """
        first = getattr(self, name)
        if first is None:
            setattr(self, name, value)
        elif value != first:
            raise ValueError(f"{where}: {message(first, value)}")

    def where(self, row: int) -> str:
        """``"file, line N"`` of row ``row`` of ``read_all()``'s arrays (for error messages)."""
        self.read_all()
        ends = np.cumsum([n for _, _, n in self._sources])
        path, lineno, _ = self._sources[int(np.searchsorted(ends, row, side="right"))]
        return f"{path}, line {lineno}"

    def next(self) -> dict[str, np.ndarray]:
        """The next line's batch: ``{"obs": [N, *obs_shape], "actions": [N, ...], ...}``.

        It cycles over all files forever.
        """
        for _ in range(2):  # a fresh pass after the end; an empty second pass means no data
            if self._stream is None:
                self._stream = self._lines()
            batch = next(self._stream, None)
            if batch is not None:
                return batch
            self._stream = None
        raise ValueError(f"JsonReader found no data lines in {', '.join(self.files)}")

    def read_all(self) -> dict[str, np.ndarray]:
        """All rows of all files, concatenated: ``{"obs": [N, *obs_shape], ...}`` (cached)."""
        if self._all is None:
            batches, self._sources = [], []
            for batch in self._lines():
                batches.append(batch)
                self._sources.append((*self._line_of_batch, len(batch["rewards"])))
            if not batches:
                raise ValueError(f"JsonReader found no data lines in {', '.join(self.files)}")
            try:
                self._all = {k: np.concatenate([b[k] for b in batches]) for k in FIELDS}
            except ValueError as err:
                raise ValueError(
                    f"JsonReader cannot join the lines of {', '.join(self.files)}: {err}; "
                    f"all lines must come from the same env"
                ) from err
        return self._all

    def sample(self, n: int, generator: torch.Generator | None = None) -> dict[str, np.ndarray]:
        """``n`` rows drawn uniformly (with replacement) from all data.

        Args:
            n: number of rows.
            generator: a ``torch.Generator`` for reproducible draws (None: torch's global RNG,
                which trainers seed and checkpoint).

        Returns:
            ``{"obs": [n, *obs_shape] float32 (or uint8 frames), "actions": [n, ...],
            "rewards": [n], ...}``
        """
        data = self.read_all()
        size = len(data["rewards"])
        index = torch.randint(0, size, (int(n),), generator=generator).numpy()
        return {k: v[index] for k, v in data.items()}
