"""Checkpoints: what ``Algorithm.save()`` writes and ``Algorithm.restore()`` reads.

Saving refuses non-finite weights (a diverged trainer never overwrites a good checkpoint) and
writes atomically: a temporary file in the same directory, fsync, then a rename over
``checkpoint.pt``. The file gets the permissions the user's umask gives new files. A temporary
file left by a save that was killed is removed by the next save into that directory.

Restoring is all or nothing: the file is read with ``torch.load(weights_only=True)`` (a
checkpoint cannot run code), every section is checked, then applied; if applying any section
fails, everything applied so far is rolled back (rlkit.algorithms.common.snapshot).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from typing import Any

import torch

from rlkit.algorithms.common.snapshot import copy_state, nonfinite_tensors, put_state

# Where save() without a directory writes (RLlib's ~/ray_results): <root>/<Algo>_<env>_<time>.
RESULTS_DIR_ENV = "RLKIT_RESULTS_DIR"
DEFAULT_RESULTS_DIR = os.path.join("~", "rlkit_results")


def new_results_dir(algorithm: str, env_label: str) -> str:
    """A new results directory ``$RLKIT_RESULTS_DIR/<Algo>_<env>_<date-time>_<unique>``.

    The root defaults to ``~/rlkit_results`` and is made when missing.
    """
    root = os.path.expanduser(os.environ.get(RESULTS_DIR_ENV) or DEFAULT_RESULTS_DIR)
    label = env_label.replace("/", "_").replace(" ", "_")
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    os.makedirs(root, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"{algorithm}_{label}_{stamp}_", dir=root)


CHECKPOINT_FORMAT = "rlkit-checkpoint"
CHECKPOINT_VERSION = 1
SECTIONS = (
    "config_json",
    "model",
    "optimizer",
    "filter",
    "counters",
    "episode_returns",
    "episode_lengths",
    "torch_rng",
    "boundary_seed",
    "extra",
)
COUNTERS = ("iteration", "timesteps_total", "time_total_s", "episodes_total")
TEMP_PREFIX = ".checkpoint-"


def checkpoint_dict(trainer: Any) -> dict[str, Any]:
    """Every section of a checkpoint (plain types and tensors: loads with weights_only)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "algorithm": type(trainer).__name__,
        "config_json": json.dumps(trainer.config, default=repr, sort_keys=True),
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "filter": trainer.policy.filter.get_state(),
        # What the sampler delivers (Atari: the DeepMind frames), checked on restore.
        "observation_space": repr(trainer.policy.observation_space),
        "counters": {
            "iteration": trainer.iteration,
            "timesteps_total": trainer.timesteps_total,
            "time_total_s": trainer.time_total_s,
            "episodes_total": trainer.sampler.episodes_total,
        },
        "episode_returns": list(trainer.sampler.episode_returns),
        "episode_lengths": list(trainer.sampler.episode_lengths),
        "torch_rng": trainer._rng_state,
        "boundary_seed": trainer._boundary_seed(),
        "extra": trainer.extra_state(),
    }


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale_temps(directory: str) -> None:
    """Delete temporary files of saves whose process is gone (killed mid-save)."""
    for tmp in glob.glob(os.path.join(directory, f"{TEMP_PREFIX}*.tmp")):
        parts = os.path.basename(tmp)[len(TEMP_PREFIX) :].split("-")
        pid = int(parts[0]) if len(parts) > 1 and parts[0].isdigit() else None
        if pid is not None and pid != os.getpid():
            try:
                os.kill(pid, 0)
                continue  # that process is alive: maybe saving right now
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        elif pid == os.getpid():
            continue  # this process's own save (another thread) may be in progress
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def write_checkpoint(trainer: Any, checkpoint_dir: str) -> str:
    """Write ``checkpoint_dir/checkpoint.pt`` atomically; returns its path.

    Raises:
        ValueError: a weight (or optimizer or extra tensor) is NaN or infinite; nothing is
            written, so an earlier checkpoint stays intact.
    """
    ckpt = checkpoint_dict(trainer)
    bad = nonfinite_tensors({k: ckpt[k] for k in ("model", "optimizer", "extra")})
    if bad:
        raise ValueError(
            f"refusing to save: {len(bad)} tensor(s) hold NaN or infinity ({', '.join(bad[:3])}"
            f"{', ...' if len(bad) > 3 else ''}); a diverged trainer must not overwrite a good "
            f"checkpoint. Restore the last good one and lower 'lr' or set 'grad_clip'"
        )
    os.makedirs(checkpoint_dir, exist_ok=True)
    _remove_stale_temps(checkpoint_dir)
    path = os.path.join(checkpoint_dir, "checkpoint.pt")
    fd, tmp = tempfile.mkstemp(
        dir=checkpoint_dir, prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(ckpt, f)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # mkstemp made it 0600
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path: str) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` of a file or ``dir/checkpoint.pt``.

    Raises:
        ValueError: when the file is unreadable.
    """
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.pt")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(
            f"cannot read checkpoint '{path}': the file is truncated, corrupted "
            f"or not an rlkit checkpoint ({_load_failure(err)}); write a new one with "
            f"trainer.save(directory)"
        ) from err


def _load_failure(err: Exception) -> str:
    """What torch.load said, without its advice to load with ``weights_only=False``.

    That advice runs any code the file holds; an rlkit checkpoint never needs it, so the
    message must not pass it on to a student.
    """
    text = str(err)
    if "weights_only" in text or "Weights only load failed" in text:
        return (
            f"{type(err).__name__}: it holds objects other than tensors and plain values, "
            f"which rlkit never writes and never loads"
        )
    return f"{type(err).__name__}: {text.splitlines()[0] if text else 'no details'}"


def check_checkpoint(trainer: Any, ckpt: Any, path: str) -> None:
    """Every check that needs no change to the trainer; ValueError naming what is wrong."""
    _check_header(trainer, ckpt, path)
    _check_sections(ckpt, path)
    _check_model(trainer, ckpt, path)
    _check_state(trainer, ckpt, path)


def _check_header(trainer: Any, ckpt: Any, path: str) -> None:
    """An rlkit checkpoint, of this format version, written by this algorithm."""
    name = type(trainer).__name__
    if not (isinstance(ckpt, dict) and ckpt.get("format") == CHECKPOINT_FORMAT):
        raise ValueError(
            f"'{path}' is not an rlkit checkpoint (no '{CHECKPOINT_FORMAT}' "
            f"marker); write checkpoints with trainer.save(directory)"
        )
    if ckpt.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"checkpoint '{path}' has format version {ckpt.get('version')}; this "
            f"rlkit reads version {CHECKPOINT_VERSION}"
        )
    if ckpt.get("algorithm") != name:
        raise ValueError(
            f"checkpoint '{path}' was written by {ckpt.get('algorithm')}, not "
            f"{name}; restore it into a {ckpt.get('algorithm')}"
        )


def _check_sections(ckpt: dict, path: str) -> None:
    """Every section and counter save() writes is there."""
    missing = [k for k in SECTIONS if k not in ckpt]
    counters = ckpt.get("counters")
    if isinstance(counters, dict):
        missing += [f"counters.{k}" for k in COUNTERS if k not in counters]
    elif "counters" not in missing:
        missing.append("counters")
    if missing:
        raise ValueError(
            f"checkpoint '{path}' lacks section(s) {', '.join(missing)}; it was not written by "
            f"trainer.save() of this rlkit, or was edited. Nothing was restored"
        )


def _check_model(trainer: Any, ckpt: dict, path: str) -> None:
    """The same observation space and model architecture as this trainer's."""
    space = repr(trainer.policy.observation_space)
    if ckpt.get("observation_space", space) != space:
        raise ValueError(
            f"checkpoint '{path}' was trained on observations {ckpt['observation_space']}, "
            f"but this trainer's env delivers {space}; build the trainer with the same env, "
            "env_config and model keys dim / framestack"
        )
    own, theirs = trainer.model.state_dict(), ckpt["model"]
    if (
        not isinstance(theirs, dict)
        or set(own) != set(theirs)
        or any(
            not isinstance(theirs[k], torch.Tensor) or own[k].shape != theirs[k].shape for k in own
        )
    ):
        raise ValueError(
            f"checkpoint '{path}' holds a different model architecture than this "
            f"trainer's; build the trainer with the same 'model' config"
        )


def _check_state(trainer: Any, ckpt: dict, path: str) -> None:
    """The algorithm's extra state, finite numbers everywhere, a torch RNG state."""
    name = type(trainer).__name__
    own_extra, extra = set(trainer.extra_state()), ckpt["extra"]
    if not isinstance(extra, dict) or set(extra) != own_extra:
        given = sorted(extra) if isinstance(extra, dict) else extra
        raise ValueError(
            f"checkpoint '{path}': section extra holds {given!r} but {name} keeps "
            f"{sorted(own_extra)}; nothing was restored"
        )
    bad = nonfinite_tensors({k: ckpt[k] for k in ("model", "optimizer", "extra")})
    if bad:
        raise ValueError(
            f"checkpoint '{path}' holds NaN or infinity in {', '.join(bad[:3])}; nothing was "
            f"restored"
        )
    rng = ckpt["torch_rng"]
    if not (isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8):
        raise ValueError(f"checkpoint '{path}': section torch_rng is not a torch RNG state")


def restore_checkpoint(trainer: Any, path: str) -> None:
    """Check, then apply every section of the checkpoint at ``path``, or none of them."""
    ckpt = load_checkpoint(path)
    check_checkpoint(trainer, ckpt, path)
    before = copy_state(trainer)
    try:
        trainer.model.load_state_dict(ckpt["model"])
        trainer.optimizer.load_state_dict(ckpt["optimizer"])
        trainer.set_extra_state(ckpt["extra"])
        trainer.policy.filter.set_state(ckpt["filter"])
        counters = ckpt["counters"]
        trainer.iteration = int(counters["iteration"])
        trainer.timesteps_total = int(counters["timesteps_total"])
        trainer.time_total_s = float(counters["time_total_s"])
        episodes_total = int(counters["episodes_total"])
        returns = [float(r) for r in ckpt["episode_returns"]]
        lengths = [int(n) for n in ckpt["episode_lengths"]]
        boundary_seed = int(ckpt["boundary_seed"])
    except Exception as err:
        put_state(trainer, before)
        raise ValueError(
            f"checkpoint '{path}' does not fit this trainer ({type(err).__name__}: {err}); "
            f"nothing was restored"
        ) from err
    trainer._sync_weights()
    trainer._rng_state = ckpt["torch_rng"]
    sampler = trainer.sampler
    sampler.reset(boundary_seed)
    sampler.episodes_total = episodes_total
    sampler.episode_returns.clear()
    sampler.episode_returns.extend(returns)
    sampler.episode_lengths.clear()
    sampler.episode_lengths.extend(lengths)
