"""Small helpers for gymnasium spaces: walking nested spaces, naming their parts, one-hot codes.

A nested observation space (``Tuple`` / ``Dict``, to any depth) is a tree whose leaves are plain
spaces (``Box``, ``Discrete``, ...). rlkit always visits the leaves in one *canonical order*:
depth first, ``Dict`` keys sorted, ``Tuple`` entries in index order. Preprocessors flatten in
this order and ``restore_original_dimensions`` un-flattens in it, so the two always agree.

A leaf is addressed by its *path*, the tuple of keys / indices that leads to it from the root:
``("image",)`` for ``obs["image"]``, ``(0, "a")`` for ``obs[0]["a"]``, ``()`` for the root.

Example:
    >>> space = Dict({"image": Box(0, 255, (7, 7, 3), np.uint8), "direction": Discrete(4)})
    >>> [(path_str(p), s) for p, s in leaf_paths(space)]
    [("obs['direction']", Discrete(4)), ("obs['image']", Box(0, 255, (7, 7, 3), uint8))]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

Path = tuple  # a tuple of Dict keys (str) and Tuple indices (int)
# The deepest nesting of Dict/Tuple spaces rlkit takes. gymnasium's vector envs, rlkit's
# preprocessors and the models walk spaces recursively; far deeper trees would end in a bare
# RecursionError (Python's limit is ~1,000 frames), and no real observation needs 32 levels.
MAX_SPACE_DEPTH = 32


class SpaceNestingError(ValueError):
    """A Dict/Tuple space nested deeper than ``MAX_SPACE_DEPTH``."""


def check_space_depth(space: gym.Space, what: str = "observation space") -> None:
    """Raise ``SpaceNestingError`` for a space nested deeper than ``MAX_SPACE_DEPTH`` levels.

    Walks with a stack of its own (no recursion), naming the path of the deepest part.
    """
    stack: list[tuple[Path, gym.Space]] = [((), space)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_SPACE_DEPTH:
            raise SpaceNestingError(
                f"the {what} is nested more than {MAX_SPACE_DEPTH} Dict/Tuple levels deep "
                f"(rlkit.spaces.MAX_SPACE_DEPTH), e.g. at {path_str(path[:4])}... "
                f"({len(path)} levels so far); flatten the inner levels into one Dict with "
                "compound keys (e.g. 'a/b/c') or a Box"
            )
        if is_nested(node):
            stack.extend((path + (key,), child) for key, child in children(node))


def is_nested(space: gym.Space) -> bool:
    """True for the container spaces rlkit flattens: ``Tuple`` and ``Dict``."""
    return isinstance(space, (gym.spaces.Tuple, gym.spaces.Dict))


def children(space: gym.Space) -> list[tuple[Any, gym.Space]]:
    """(key, child space) pairs of a Tuple/Dict space in canonical order."""
    if isinstance(space, gym.spaces.Dict):
        return [(key, space.spaces[key]) for key in sorted(space.spaces)]
    return list(enumerate(space.spaces))


def leaf_paths(space: gym.Space, prefix: Path = ()) -> list[tuple[Path, gym.Space]]:
    """Return the leaves of a (possibly nested) space as ``(path, leaf_space)`` pairs.

    Args:
        space: any gymnasium space; Tuple/Dict are descended into, everything else is a leaf.
        prefix: path of ``space`` itself inside a larger space (used by the recursion).

    Returns:
        The leaves depth first, Dict keys sorted, Tuple in index order. A non-nested space
        gives ``[((), space)]``.
    """
    if not is_nested(space):
        return [(prefix, space)]
    leaves = []
    for key, child in children(space):
        leaves.extend(leaf_paths(child, prefix + (key,)))
    return leaves


def value_leaves(x: Any) -> list:
    """Leaves of a nested value (dicts, tuples, lists of arrays) in canonical order.

    The value twin of ``leaf_paths``: Dict keys sorted, Tuple in index order, depth first, so
    ``value_leaves(obs)[i]`` belongs to ``leaf_paths(space)[i]``.
    """
    if isinstance(x, Mapping):
        return [leaf for key in sorted(x) for leaf in value_leaves(x[key])]
    if isinstance(x, (tuple, list)):
        return [leaf for value in x for leaf in value_leaves(value)]
    return [x]


def path_str(path: Path, root: str = "obs") -> str:
    """Write a path the way a user would index the observation.

    ``()`` -> ``"obs"``, ``("image",)`` -> ``"obs['image']"``, ``(0, "a")`` -> ``"obs[0]['a']"``.
    """
    return root + "".join(f"[{key!r}]" for key in path)


def get_at(nested: Any, path: Path) -> Any:
    """Read the leaf at ``path`` from a nested observation made of dicts and tuples/lists."""
    for key in path:
        nested = nested[key]
    return nested


def build_nested(space: gym.Space, leaves: Sequence[Any]) -> Any:
    """Rebuild the dict/tuple structure of ``space`` from its leaves.

    Args:
        space: the (possibly nested) space whose layout to rebuild.
        leaves: one value per leaf, in ``leaf_paths(space)`` order.

    Returns:
        A dict (keys sorted) / tuple tree shaped like ``space`` holding ``leaves``; for a
        non-nested space, ``leaves[0]`` itself.
    """
    expected = len(leaf_paths(space))
    if len(leaves) != expected:
        raise ValueError(f"build_nested got {len(leaves)} leaves but {space} has {expected}")
    return _build(space, iter(leaves))


def _build(space: gym.Space, leaves: Iterator[Any]) -> Any:
    if not is_nested(space):
        return next(leaves)
    built = [(key, _build(child, leaves)) for key, child in children(space)]
    if isinstance(space, gym.spaces.Dict):
        return dict(built)
    return tuple(value for _, value in built)


def check_structure(obs: Any, space: gym.Space, path: Path = ()) -> None:
    """Check that a nested observation has the dict keys / tuple lengths of ``space``.

    Only the containers are checked, not the leaves (the preprocessors check those).

    Raises:
        ValueError: naming the path, e.g. ``obs['image']``, and what was expected vs found.
    """
    where = path_str(path)
    if isinstance(space, gym.spaces.Dict):
        keys = sorted(space.spaces)
        if not isinstance(obs, Mapping):
            raise ValueError(f"{where} should be a dict with keys {keys}, got {type(obs).__name__}")
        missing = sorted(set(keys) - set(obs))
        extra = sorted(set(obs) - set(keys), key=str)
        if missing or extra:
            wrong = [f"missing {missing}"] * bool(missing) + [f"unexpected {extra}"] * bool(extra)
            raise ValueError(f"{where} should have exactly the keys {keys}; {', '.join(wrong)}")
    elif isinstance(space, gym.spaces.Tuple):
        if not isinstance(obs, (tuple, list)) or len(obs) != len(space.spaces):
            got = f"length {len(obs)}" if isinstance(obs, (tuple, list)) else type(obs).__name__
            raise ValueError(
                f"{where} should be a tuple of {len(space.spaces)} parts for {space}, got {got}"
            )
    else:
        return
    for key, child in children(space):
        check_structure(obs[key], child, path + (key,))


def is_image_space(space: gym.Space) -> bool:
    """True for a ``Box`` of rank 3 with dtype uint8, read as an (H, W, C) image.

    The decision uses rank and dtype only, never particular sizes such as 84 or 210.
    """
    return (
        isinstance(space, gym.spaces.Box)
        and len(space.shape) == 3
        and np.dtype(space.dtype) == np.uint8
    )


def one_hot(x: Any, n: int) -> np.ndarray:
    """One-hot encode integer(s) ``x`` in ``[0, n)``.

    Args:
        x: an int or an integer array of any shape ``[*S]``.
        n: the number of categories.

    Returns:
        float32 array ``[*S, n]`` (a new last axis), 1.0 at each value and 0.0 elsewhere.

    Raises:
        ValueError: a value outside ``[0, n)`` (numpy indexing would silently wrap negatives).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise ValueError(f"one_hot needs integers, got dtype {x.dtype}")
    if x.size and (x.min() < 0 or x.max() >= n):
        raise ValueError(f"one_hot values must lie in [0, {n}); got min {x.min()}, max {x.max()}")
    # O(size * n): a zero array and one write per value (np.eye(n)[x] would build n x n first).
    out = np.zeros((*x.shape, n), dtype=np.float32)
    np.put_along_axis(out, x[..., None].astype(np.int64), 1.0, axis=-1)
    return out


def add_batch_dim(x: Any) -> Any:
    """One (possibly nested) observation -> a batch of one in vector-env layout [1, ...]."""
    if isinstance(x, dict):
        return {k: add_batch_dim(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(add_batch_dim(v) for v in x)
    return np.asarray(x)[None]


def first_of_batch(x: Any) -> Any:
    """Row 0 of a (possibly nested) batch, structure kept: the inverse of add_batch_dim."""
    if isinstance(x, dict):
        return {k: first_of_batch(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(first_of_batch(v) for v in x)
    return x[0]
