"""Cutting rollouts into padded sequences for recurrent models (RLlib's layout).

A rollout is a flat batch of ``N`` rows, several episodes one after the other. A recurrent
model is trained on fixed-length windows of it, so the rows are cut into runs of at most
``max_seq_len`` steps that never cross an episode boundary, and each run is zero-padded to
the same length ``T``. The padded batch keeps the flat layout ``[B*T, ...]``, row-major: the
``T`` steps of sequence 0, then the ``T`` steps of sequence 1, and so on. ``mask`` says which
of those rows are real, so that losses ignore the padding.

Worked example (two episodes, ``max_seq_len=3``)::

    episode_ids = [7, 7, 7, 7, 9, 9]          # N = 6 rows
    seq_lens    = sequence_lengths(episode_ids, 3)          # [3, 1, 2]  (B = 3)
    pad_batch({"obs": [a, b, c, d, e, f]}, seq_lens)["obs"]
                = [a, b, c,  d, 0, 0,  e, f, 0]           # [B*T] with T = 3
    mask(seq_lens, 3) = [[T, T, T], [T, F, F], [T, T, F]]   # [B, T]

| name | shape | meaning |
|---|---|---|
| ``episode_ids`` | ``[N]`` | which episode each row belongs to |
| ``seq_lens`` | ``[B]`` | real steps in each sequence, ``sum(seq_lens) == N`` |
| padded arrays | ``[B*T, ...]`` | ``T = max(seq_lens)`` or ``max_seq_len`` |
| ``mask`` | ``[B, T]`` bool | True on real steps |

``chop_into_sequences`` is RLlib's function of that name, with its signature: lengths,
padding and initial states in one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from rlkit.utils.seeding import generator

ArrayLike = np.ndarray | torch.Tensor


def sequence_lengths(
    episode_ids: np.ndarray, max_seq_len: int, *, unroll_ids: np.ndarray | None = None
) -> np.ndarray:
    """Cut a flat batch into sequences that stay inside one episode and one rollout.

    Consecutive rows with the same episode id (and the same unroll id, when given) form a run;
    each run is cut into pieces of at most ``max_seq_len`` rows.

    Args:
        episode_ids: ``[N]`` episode id of each row.
        max_seq_len: the longest sequence allowed.
        unroll_ids: ``[N]`` optional id of the rollout fragment each row came from; an
            episode continued in a new fragment starts a new sequence, because the recurrent
            state at the fragment boundary is not in the batch.

    Returns:
        seq_lens: ``[B]`` int64, the length of each sequence in row order.

    Example:
        >>> sequence_lengths(np.array([7, 7, 7, 7, 9, 9]), 3)
        array([3, 1, 2])
    """
    if not (isinstance(max_seq_len, (int, np.integer)) and max_seq_len > 0):
        raise ValueError(
            f"sequence_lengths: max_seq_len must be a positive int; got {max_seq_len!r}"
        )
    episode_ids = np.asarray(episode_ids).reshape(-1)
    # A new run starts at row 0 and wherever the episode (or the rollout fragment) changes.
    starts = np.ones(len(episode_ids), dtype=bool)
    starts[1:] = episode_ids[1:] != episode_ids[:-1]
    if unroll_ids is not None:
        unroll_ids = np.asarray(unroll_ids).reshape(-1)
        if unroll_ids.shape != episode_ids.shape:
            raise ValueError(
                f"sequence_lengths: unroll_ids has {len(unroll_ids)} rows but "
                f"episode_ids has {len(episode_ids)}; give one id per row"
            )
        starts[1:] |= unroll_ids[1:] != unroll_ids[:-1]
    run_starts = np.flatnonzero(starts)
    run_lens = np.diff(np.append(run_starts, len(episode_ids)))
    seq_lens = []
    for run_len in run_lens.tolist():
        full, rest = divmod(run_len, max_seq_len)
        seq_lens.extend([max_seq_len] * full + ([rest] if rest else []))
    return np.asarray(seq_lens, dtype=np.int64)


def chop_into_sequences(
    *,
    feature_columns: Sequence[Any],
    state_columns: Sequence[Any],
    max_seq_len: int,
    episode_ids: Any = None,
    unroll_ids: Any = None,
    agent_indices: Any = None,
    dynamic_max: bool = True,
    shuffle: bool = False,
    seq_lens: Any = None,
    states_already_reduced_to_init: bool = False,
    handle_nested_data: bool = False,
    _extra_padding: int = 0,
) -> tuple[list[Any], list[Any], np.ndarray]:
    """RLlib's ``chop_into_sequences``: cut, zero-pad and take each sequence's initial state.

    A sequence ends where the episode, the agent or the rollout fragment changes, or after
    ``max_seq_len`` rows (lengths from :func:`sequence_lengths`, unless ``seq_lens`` is given).

    Args:
        feature_columns: columns ``[N, ...]`` to pad (lists or arrays).
        state_columns: recurrent-state columns ``[N, ...]``; or, with
            ``states_already_reduced_to_init``, ``[B, ...]`` initial states kept as they are.
        max_seq_len: the longest sequence; also the padded length ``T`` unless
            ``dynamic_max``, where ``T = max(seq_lens) + _extra_padding``.
        episode_ids: ``[N]`` episode id of each row; needed unless ``seq_lens`` is given.
        unroll_ids: ``[N]`` rollout-fragment id of each row (None: all rows count as one
            fragment).
        agent_indices: ``[N]`` agent index of each row (None: all rows count as one agent).
        dynamic_max: pad to ``T = max(seq_lens) + _extra_padding`` (True) or to
            ``T = max_seq_len`` (False).
        shuffle: put the sequences in a random order (from ``rlkit.utils.seeding.generator()``: the
            trainer's generator inside its block, else torch's global one).
        seq_lens: ``[B]`` lengths to use instead of computing them.
        states_already_reduced_to_init: ``state_columns`` already hold one initial state
            per sequence, ``[B, ...]``; they are returned as they are.
        handle_nested_data: a column may be a dict or tuple of ``[N, ...]`` arrays (a Dict
            observation): each leaf is padded (or its initial state taken) and the column
            comes back with its structure.

    Returns:
        (padded feature columns, each ``[B*T, ...]`` zero-padded; initial states, each
        ``[B, ...]``; ``seq_lens [B]`` int32).

    Example:
        >>> f_pad, s_init, lens = chop_into_sequences(
        ...     feature_columns=[[1, 2, 3]], state_columns=[[10, 11, 12]], max_seq_len=4,
        ...     episode_ids=[5, 5, 6])
        >>> f_pad[0].tolist(), s_init[0].tolist(), lens.tolist()
        ([1, 2, 0, 3], [10, 12], [2, 1])
    """
    if seq_lens is None or len(seq_lens) == 0:
        if episode_ids is None:
            raise ValueError(
                "chop_into_sequences needs episode_ids [N] (one id per row) or seq_lens [B]"
            )
        ids = np.asarray(episode_ids).reshape(-1)
        zeros = np.zeros(len(ids), dtype=np.int64)
        agents = zeros if agent_indices is None else np.asarray(agent_indices).reshape(-1)
        unrolls = zeros if unroll_ids is None else np.asarray(unroll_ids).reshape(-1)
        # One run per (episode, agent) change or fragment change, cut at max_seq_len.
        pair = np.unique(np.stack([ids, agents], axis=1), axis=0, return_inverse=True)[1]
        seq_lens = sequence_lengths(pair.reshape(-1), max_seq_len, unroll_ids=unrolls)
    seq_lens = np.asarray(seq_lens, dtype=np.int32)
    T = int(seq_lens.max()) + _extra_padding if dynamic_max else int(max_seq_len)
    nested = _nested if handle_nested_data else _flat
    f_leaves, f_rebuild = nested(feature_columns, "feature_columns")
    s_leaves, s_rebuild = nested(state_columns, "state_columns")
    padded = pad_batch({str(i): c for i, c in enumerate(f_leaves)}, seq_lens, T)
    f_pad = [padded[str(i)] for i in range(len(f_leaves))]
    if states_already_reduced_to_init:
        s_init = list(s_leaves)
    else:
        first_rows = np.cumsum(seq_lens) - seq_lens  # [B] row where each sequence starts
        s_init = [s[first_rows] for s in s_leaves]
    if shuffle:
        order = torch.randperm(len(seq_lens), generator=generator()).numpy()
        rows = (order[:, None] * T + np.arange(T)[None, :]).reshape(-1)  # [B*T]
        f_pad = [f[rows] for f in f_pad]
        s_init = [s[order] for s in s_init]
        seq_lens = seq_lens[order]
    return f_rebuild(f_pad), s_rebuild(s_init), seq_lens


def _flat(columns: Sequence[Any], what: str) -> tuple[list[np.ndarray], Any]:
    """Each column as one array (RLlib's default); nested ones need handle_nested_data."""
    for c in columns:
        if isinstance(c, (Mapping, tuple)):
            raise ValueError(
                f"chop_into_sequences: a {what} entry is a {type(c).__name__} of arrays; pass "
                f"handle_nested_data=True to pad each of its leaves"
            )
    return [np.asarray(c) for c in columns], list


def _nested(columns: Sequence[Any], what: str) -> tuple[list[np.ndarray], Any]:
    """All leaves of all columns (dicts and tuples are structure), and how to rebuild them."""
    leaves: list[np.ndarray] = []

    def collect(c: Any) -> Any:  # the column with each leaf replaced by its index in leaves
        if isinstance(c, Mapping):
            return {k: collect(v) for k, v in c.items()}
        if isinstance(c, tuple):
            return tuple(collect(v) for v in c)
        leaves.append(np.asarray(c))
        return len(leaves) - 1

    shapes = [collect(c) for c in columns]

    def rebuild(done: list[np.ndarray]) -> list[Any]:
        def fill(shape: Any) -> Any:
            if isinstance(shape, dict):
                return {k: fill(v) for k, v in shape.items()}
            if isinstance(shape, tuple):
                return tuple(fill(v) for v in shape)
            return done[shape]

        return [fill(shape) for shape in shapes]

    return leaves, rebuild


def mask(seq_lens: ArrayLike | Sequence[int], max_seq_len: int) -> ArrayLike:
    """Return which steps of the padded ``[B, T]`` layout are real.

    Args:
        seq_lens: ``[B]`` sequence lengths (numpy, list or torch).
        max_seq_len: ``T``, the padded length.

    Returns:
        ``[B, T]`` bool, a torch tensor if ``seq_lens`` is one, else a numpy array.

    Example:
        >>> mask(np.array([3, 1, 2]), 3).astype(int)
        array([[1, 1, 1],
               [1, 0, 0],
               [1, 1, 0]])
    """
    if isinstance(seq_lens, torch.Tensor):
        steps = torch.arange(max_seq_len, device=seq_lens.device)
        return steps[None, :] < seq_lens[:, None]  # [1, T] < [B, 1] -> [B, T]
    seq_lens = np.asarray(seq_lens)
    return np.arange(max_seq_len)[None, :] < seq_lens[:, None]  # [B, T]


def pad_batch(
    arrays: Mapping[str, ArrayLike],
    seq_lens: ArrayLike | Sequence[int],
    max_seq_len: int | None = None,
) -> dict[str, ArrayLike]:
    """Zero-pad every sequence of a flat batch to the same length ``T``.

    Args:
        arrays: name -> ``[N, ...]`` array (numpy or torch), ``N == sum(seq_lens)``.
        seq_lens: ``[B]`` lengths from :func:`chop_into_sequences`.
        max_seq_len: ``T``; defaults to ``max(seq_lens)``. Giving it keeps ``T`` fixed across
            batches.

    Returns:
        name -> ``[B*T, ...]`` array of the same kind and dtype, padding rows zero.

    Example:
        >>> pad_batch({"r": np.array([1, 2, 3, 4, 5, 6])}, [3, 1, 2])["r"]
        array([1, 2, 3, 4, 0, 0, 5, 6, 0])
    """
    seq_lens = np.asarray(
        seq_lens.cpu() if isinstance(seq_lens, torch.Tensor) else seq_lens, dtype=np.int64
    )
    longest = int(seq_lens.max()) if len(seq_lens) else 0
    T = longest if max_seq_len is None else int(max_seq_len)
    if longest > T:
        raise ValueError(
            f"pad_batch: a sequence has {longest} steps but max_seq_len={T}; "
            f"pass max_seq_len >= {longest} or leave it None"
        )
    B, N = len(seq_lens), int(seq_lens.sum())
    # Row i of the flat batch is step (i - first row of its sequence) of sequence b.
    seq_of_row = np.repeat(np.arange(B), seq_lens)  # [N]
    first_row = np.repeat(np.cumsum(seq_lens) - seq_lens, seq_lens)  # [N]
    dest = seq_of_row * T + (np.arange(N) - first_row)  # [N] row in the [B*T] layout
    padded = {}
    for name, array in arrays.items():
        if len(array) != N:
            raise ValueError(
                f"pad_batch: '{name}' has {len(array)} rows but seq_lens sum to "
                f"{N}; every array needs one row per step"
            )
        if isinstance(array, torch.Tensor):
            out = array.new_zeros((B * T, *array.shape[1:]))
            out[torch.as_tensor(dest, device=array.device)] = array
        else:
            array = np.asarray(array)
            out = np.zeros((B * T, *array.shape[1:]), dtype=array.dtype)
            out[dest] = array
        padded[name] = out
    return padded


def add_time_dimension(
    x: torch.Tensor,
    seq_lens: ArrayLike | Sequence[int],
    *,
    max_seq_len: int | None = None,
    framework: str = "torch",
    time_major: bool = False,
) -> torch.Tensor:
    """Fold a padded flat batch into sequences: ``[B*T, ...] -> [B, T, ...]``.

    Args:
        x: ``[B*T, ...]`` padded rows, laid out as :func:`pad_batch` makes them.
        seq_lens: ``[B]``; only its length ``B`` is used, ``T = N // B``.
        max_seq_len: RLlib's; ``T`` follows from the rows, so a given value must equal it.
        framework: RLlib's; "torch" (rlkit is PyTorch only).
        time_major: return ``[T, B, ...]`` instead (RLlib's option).

    Returns:
        ``[B, T, ...]`` view of ``x`` (``[T, B, ...]`` with time_major).

    Example:
        >>> add_time_dimension(torch.arange(6), [2, 1]).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    B, N = len(seq_lens), x.shape[0]
    if B == 0 or N % B != 0:
        raise ValueError(
            f"add_time_dimension: {N} rows cannot be split into {B} sequences of "
            f"equal padded length; pad the batch with pad_batch first"
        )
    if framework != "torch":
        raise ValueError(f"add_time_dimension: framework={framework!r}; rlkit is PyTorch only")
    if max_seq_len is not None and max_seq_len != N // B:
        raise ValueError(
            f"add_time_dimension: {N} rows in {B} sequences are {N // B} steps each, not "
            f"max_seq_len={max_seq_len}; leave max_seq_len out"
        )
    out = x.reshape(B, N // B, *x.shape[1:])  # [B*T, ...] -> [B, T, ...]
    return out.transpose(0, 1) if time_major else out  # [T, B, ...] when time-major
