"""RLlib's offline JSON lines (``SampleBatch`` rows written by RLlib's ``output``), read as rlkit's.

RLlib writes one ``SampleBatch`` per line, columns side by side::

    {"type": "SampleBatch", "obs": [[...], ...], "new_obs": [...], "actions": [...],
     "rewards": [...], "dones": [...],                  # RLlib < 2.3: one flag for both ends
     "terminateds": [...], "truncateds": [...],         # RLlib >= 2.3 instead of "dones"
     "eps_id": [...], "action_logp": [...], "action_prob": [...], "infos": [...], ...}

``from_rllib`` turns such a line into the fields of rlkit's format (``rlkit.offline``):

| rlkit | from RLlib |
|---|---|
| ``obs`` ``[N, *shape]`` | ``obs`` (RLlib stores it preprocessed, as rlkit does) |
| ``actions`` | ``actions`` |
| ``rewards`` | ``rewards`` |
| ``terminated`` | ``terminateds``; else ``dones`` less the time-limit rows (below) |
| ``truncated`` | ``truncateds``; else ``dones`` rows whose info has ``TimeLimit.truncated`` |
| ``eps_id`` | ``eps_id`` (RLlib's new stack writes strings: a 56-bit hash of each) |
| ``action_logp`` | ``action_logp``; else ``log(action_prob)`` |
| ``obs_shape`` | the shape of one ``obs`` row |

Other columns (``new_obs``, ``t``, ``infos``, ``vf_preds``...) are not needed and left out. A
``MultiAgentBatch`` line with one policy is read as that policy's batch. Columns RLlib
compressed (``output_compress_columns``: base64 text of an LZ4-compressed pickle) are refused
with an error saying so: unpickling a data file can run any code in it.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

# Columns that mark a line as RLlib's (rlkit's own lines have "terminated" / "truncated").
RLLIB_MARKERS = ("dones", "terminateds", "truncateds", "new_obs", "type")


def is_rllib_line(data: dict[str, Any]) -> bool:
    """True for an RLlib SampleBatch / MultiAgentBatch line, False for rlkit's own."""
    if "terminated" in data and "truncated" in data:
        return False
    return data.get("type") in ("SampleBatch", "MultiAgentBatch") or any(
        key in data for key in RLLIB_MARKERS
    )


def from_rllib(data: dict[str, Any], where: str) -> dict[str, Any]:
    """One RLlib line (parsed JSON) -> a dict with rlkit's keys (see the module table).

    Args:
        data: the parsed line.
        where: "file, line N", for error messages.

    Raises:
        ValueError: a compressed column, a missing column, or a multi-policy batch, naming it.
    """
    if data.get("type") == "MultiAgentBatch":
        data = _single_policy(data, where)
    for key, value in data.items():
        if isinstance(value, str) and key not in ("type", "env"):
            raise ValueError(
                f"{where}: column '{key}' is compressed (RLlib's output_compress_columns: "
                f"base64 text of an LZ4-compressed pickle). rlkit does not unpickle data files "
                f"(a pickle can run any code); write the data again with RLlib's "
                f"output_compress_columns=[] so that every column is plain JSON"
            )
    missing = [k for k in ("obs", "actions", "rewards", "eps_id") if k not in data]
    if "dones" not in data and "terminateds" not in data:
        missing.append("dones (or terminateds)")
    if "action_logp" not in data and "action_prob" not in data:
        missing.append("action_logp (or action_prob)")
    if missing:
        raise ValueError(
            f"{where}: this RLlib SampleBatch line lacks column(s) {', '.join(missing)}; "
            f"rlkit reads obs, actions, rewards, dones or terminateds/truncateds, eps_id and "
            f"action_logp or action_prob"
        )
    n = len(data["rewards"])
    terminated, truncated = _episode_ends(data, n)
    if "action_logp" in data:
        logp = data["action_logp"]
    else:
        logp = [
            math.log(p) if isinstance(p, (int, float)) and p > 0 else p for p in data["action_prob"]
        ]
    return {
        "env": data.get("env", "rllib"),
        "obs_shape": _row_shape(data["obs"][0]) if data["obs"] else [],
        "obs": data["obs"],
        "actions": data["actions"],
        "rewards": data["rewards"],
        "terminated": terminated,
        "truncated": truncated,
        "eps_id": _episode_numbers(data["eps_id"]),
        "action_logp": logp,
    }


def _single_policy(data: dict[str, Any], where: str) -> dict[str, Any]:
    batches = data.get("policy_batches") or {}
    if len(batches) != 1:
        raise ValueError(
            f"{where}: a MultiAgentBatch with policies {sorted(batches)}; rlkit trains one "
            f"policy, so give it the lines of one (a SampleBatch per line)"
        )
    return next(iter(batches.values()))


def _episode_ends(data: dict[str, Any], n: int) -> tuple[list, list]:
    """Return (terminated, truncated) lists of one line.

    RLlib's new columns where the line has them, else its old ``dones`` split by the
    ``TimeLimit.truncated`` flag that gym's time limit put in the infos.
    """
    if "terminateds" in data:
        return data["terminateds"], data.get("truncateds", [False] * n)
    dones = data["dones"]
    infos = data.get("infos")
    if not isinstance(infos, list) or len(infos) != n:
        return dones, [False] * n
    cut = [bool(isinstance(i, dict) and i.get("TimeLimit.truncated")) for i in infos]
    return [bool(d) and not c for d, c in zip(dones, cut)], [
        bool(d) and c for d, c in zip(dones, cut)
    ]


def _episode_numbers(eps_id: list) -> list:
    """Return the episode ids as ints.

    RLlib's new stack writes string ids; each becomes a 56-bit hash, so the same string gives
    the same number on every line and in every file.
    """
    return [_string_id(e) if isinstance(e, str) else e for e in eps_id]


def _string_id(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=7).digest(), "big")


def _row_shape(row: Any) -> list[int]:
    """Shape of one nested-list row ([[1, 2], [3, 4]] -> [2, 2])."""
    shape = []
    while isinstance(row, list):
        shape.append(len(row))
        row = row[0] if row else None
    return shape
