"""Observation filters: running normalisation applied after the preprocessor.

    Environment -> Preprocessor -> [Filter] -> Model -> ActionDistribution -> action

``MeanStdFilter`` keeps a running mean and standard deviation of every observation it has
seen and returns ``clip((x - mean) / (std + 1e-8), -clip, clip)``. Statistics gathered by
several samplers are combined exactly (not approximately) with the parallel-variance merge of
Chan, Golub and LeVeque, so n small streams give the same numbers as one long stream.

Example:
    >>> f = MeanStdFilter((3,))
    >>> y = f(np.random.randn(64, 3) * 5 + 2)   # [64, 3], statistics grow
    >>> f(np.zeros(3), update=False).shape       # one obs, statistics unchanged
    (3,)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.utils.config import suggest
from rlkit.utils.guards import NonFiniteDataError, check_obs_finite

_EPS = 1e-8


class RunningStat:
    """Count, mean and variance of a stream of arrays of one shape, updated in O(1) memory.

    Internally keeps ``n``, ``mean`` and ``m2`` = sum of squared deviations from the mean, in
    float64. Two summaries A and B merge exactly (Chan et al., 1979, "Updating formulae and a
    pairwise algorithm for computing sample variances";
    https://en.wikipedia.org/wiki/Algorithms_for_calculating_variance#Parallel_algorithm)::

        n     = n_A + n_B
        delta = mean_B - mean_A
        mean  = mean_A + delta * n_B / n
        m2    = m2_A + m2_B + delta**2 * n_A * n_B / n

    Args:
        shape: shape of one sample, e.g. ``(4,)`` for CartPole, ``()`` for scalars.
    """

    def __init__(self, shape: tuple = ()):
        self.shape = tuple(int(d) for d in shape)
        self._n = 0
        self._mean = np.zeros(self.shape, dtype=np.float64)
        self._m2 = np.zeros(self.shape, dtype=np.float64)

    def push(self, x: Any) -> None:
        """Add one sample ``x: [*shape]``."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != self.shape:
            raise ValueError(f"RunningStat.push expects shape {self.shape}, got {x.shape}")
        self.push_batch(x[None])

    def push_batch(self, xs: Any) -> None:
        """Add a batch ``xs: [B, *shape]`` in one vectorised step (merge with its own summary)."""
        xs = np.asarray(xs, dtype=np.float64)
        if xs.shape[1:] != self.shape or xs.ndim != len(self.shape) + 1:
            raise ValueError(
                f"RunningStat.push_batch expects shape [B, *{self.shape}], got {xs.shape}"
            )
        if len(xs) == 0:
            return
        if not np.isfinite(xs).all():  # one NaN would poison the mean for good
            raise NonFiniteDataError(
                f"RunningStat.push_batch got NaN or infinity in batch row(s) "
                f"{np.flatnonzero(~np.isfinite(xs.reshape(len(xs), -1)).all(axis=1)).tolist()}; "
                f"the statistics are unchanged"
            )
        mean = xs.mean(axis=0)
        self._merge(len(xs), mean, ((xs - mean) ** 2).sum(axis=0))

    def merge(self, other: RunningStat) -> None:
        """Fold the samples summarised by ``other`` into ``self`` (``other`` is unchanged)."""
        if not isinstance(other, RunningStat):
            raise TypeError(f"RunningStat.merge takes a RunningStat, got {other!r}")
        if other.shape != self.shape:
            raise ValueError(f"cannot merge RunningStat of shape {other.shape} into {self.shape}")
        self._merge(other._n, other._mean, other._m2)

    def update(self, other: RunningStat) -> None:
        """RLlib's name for ``merge``: fold ``other``'s samples into ``self``."""
        self.merge(other)

    def _merge(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        if n_b == 0:
            return
        n = self._n + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / n)
        self._m2 = self._m2 + m2_b + delta**2 * (self._n * n_b / n)
        self._n = n

    @property
    def n(self) -> int:
        """Number of samples seen."""
        return self._n

    @property
    def mean(self) -> np.ndarray:
        """float64 ``[*shape]`` mean (zeros before any sample)."""
        return self._mean.copy()

    @property
    def var(self) -> np.ndarray:
        """float64 ``[*shape]`` sample variance (ddof=1); zeros while ``n < 2``."""
        if self._n < 2:
            return np.zeros(self.shape, dtype=np.float64)
        return self._m2 / (self._n - 1)

    @property
    def std(self) -> np.ndarray:
        """float64 ``[*shape]`` square root of ``var``."""
        return np.sqrt(self.var)

    def copy(self) -> RunningStat:
        """An independent copy (RLlib name)."""
        other = RunningStat(self.shape)
        other.set_state(self.get_state())
        return other

    def get_state(self) -> dict:
        """Plain-Python state: ``{"n": int, "mean": list, "m2": list}``.

        Lists of floats rather than numpy arrays, so that ``torch.load(weights_only=True)``
        reads a checkpoint holding it (its unpickler refuses numpy arrays); floats are float64,
        so the round trip is exact.
        """
        return {"n": self._n, "mean": self._mean.tolist(), "m2": self._m2.tolist()}

    def set_state(self, state: dict) -> None:
        """Load a ``get_state()`` dict (lists or numpy arrays)."""
        mean = np.asarray(state["mean"], dtype=np.float64)
        m2 = np.asarray(state["m2"], dtype=np.float64)
        if mean.shape != self.shape or m2.shape != self.shape:
            raise ValueError(
                f"RunningStat state has shape {mean.shape} but this RunningStat has {self.shape}"
            )
        n = state["n"]
        bad_n = not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0
        if bad_n or not (np.isfinite(mean).all() and np.isfinite(m2).all()):
            raise ValueError(
                f"RunningStat state is invalid (n={n!r}, NaN or infinity in mean or m2); a "
                f"filter's statistics must be finite, with a count n >= 0"
            )
        self._n, self._mean, self._m2 = int(state["n"]), mean, m2

    def __repr__(self) -> str:
        return f"RunningStat(shape={self.shape}, n={self._n})"


class NoFilter:
    """The identity filter: returns observations as float32, keeps no statistics.

    Args:
        shape: shape of one (preprocessed) observation.
    """

    def __init__(self, shape: tuple):
        self.shape = tuple(int(d) for d in shape)

    def __call__(self, x: Any, update: bool = True) -> np.ndarray:
        """x: one obs ``[*shape]`` or a batch ``[B, *shape]`` -> float32, same shape."""
        return _checked(x, self.shape, type(self).__name__).astype(np.float32, copy=False)

    def apply_changes(self, other: Any, with_buffer: bool = False) -> None:
        """Nothing to merge."""

    def sync(self, other: NoFilter) -> None:
        """Nothing to copy (the shapes must match)."""
        _check_state(other.get_state(), "NoFilter", self.shape)

    def clear_buffer(self) -> None:
        """Nothing to clear."""

    def reset(self) -> None:
        """Nothing to reset."""

    def copy(self) -> NoFilter:
        """A new NoFilter of the same shape."""
        return NoFilter(self.shape)

    def get_state(self) -> dict:
        """Plain-Python state: the type and the shape (there are no statistics)."""
        return {"type": "NoFilter", "shape": list(self.shape)}

    def set_state(self, state: dict) -> None:
        """Check that ``state`` is a NoFilter state of this shape (there is nothing to load)."""
        _check_state(state, "NoFilter", self.shape)

    def reset_buffer(self) -> None:
        """RLlib 2.x's name of ``clear_buffer`` (nothing to forget)."""

    def as_serializable(self) -> NoFilter:
        """A plain copy to pickle or send (RLlib's)."""
        return self.copy()

    def __repr__(self) -> str:
        return f"NoFilter(shape={self.shape})"


class MeanStdFilter:
    """Normalise observations by their running mean and standard deviation.

    ``y = clip((x - mean) / (std + 1e-8), -clip, clip)`` per element; ``demean=False`` skips
    the subtraction, ``destd=False`` the division. While fewer than two observations have been
    seen the spread is unknown, so the division uses 1 instead of ``std``.

    Args:
        shape: shape of one (preprocessed) observation.
        demean: subtract the running mean.
        destd: divide by the running standard deviation.
        clip: clip the result to ``[-clip, clip]``; ``None`` does not clip.

    Attributes:
        rs: ``RunningStat`` of everything seen (what normalises).
        buffer: ``RunningStat`` of what was seen since the last ``clear_buffer()``, the part
            another filter has not yet received through ``apply_changes``.
    """

    def __init__(
        self, shape: tuple, demean: bool = True, destd: bool = True, clip: float | None = 10.0
    ):
        if clip is not None and not clip > 0:
            raise ValueError(f"MeanStdFilter clip must be a positive number or None, got {clip!r}")
        self.shape = tuple(int(d) for d in shape)
        self.demean, self.destd, self.clip = bool(demean), bool(destd), clip
        self.rs = RunningStat(self.shape)
        self.buffer = RunningStat(self.shape)

    def __call__(self, x: Any, update: bool = True) -> np.ndarray:
        """Normalise one obs ``[*shape]`` or a batch ``[B, *shape]``; float32, same shape.

        Args:
            x: observation(s).
            update: first add ``x`` to the statistics (False when evaluating).
        """
        x = _checked(x, self.shape, type(self).__name__).astype(np.float64)
        batch = x if x.ndim > len(self.shape) else x[None]  # [B, *shape]
        if update:
            self.rs.push_batch(batch)
            self.buffer.push_batch(batch)
        if self.demean:
            x = x - self.rs.mean
        if self.destd:
            x = x / ((self.rs.std if self.rs.n >= 2 else 1.0) + _EPS)
        if self.clip is not None:
            x = np.clip(x, -self.clip, self.clip)
        return x.astype(np.float32)

    def apply_changes(self, other: MeanStdFilter, with_buffer: bool = False) -> None:
        """Merge the observations ``other`` buffered into ``self.rs`` (RLlib's name).

        What ``other`` saw since its last ``clear_buffer`` is its delta: how a learner
        collects what several samplers saw (RLlib's FilterManager merges deltas, never
        overwrites). ``with_buffer`` also takes ``other``'s buffer.
        """
        if not isinstance(other, MeanStdFilter):
            raise TypeError(f"MeanStdFilter.apply_changes takes a MeanStdFilter, got {other!r}")
        self.rs.merge(other.buffer)
        if with_buffer:
            self.buffer = other.buffer.copy()

    def sync(self, other: MeanStdFilter) -> None:
        """Become a copy of ``other`` (settings, statistics and buffer).

        This is how a sampler takes the learner's merged statistics at the start of an
        iteration.
        """
        if not isinstance(other, MeanStdFilter):
            raise TypeError(f"MeanStdFilter.sync takes a MeanStdFilter, got {other!r}")
        self.set_state(other.get_state())

    def clear_buffer(self) -> None:
        """Forget the buffered delta (after a learner has received it)."""
        self.buffer = RunningStat(self.shape)

    def reset(self) -> None:
        """Forget every statistic."""
        self.rs = RunningStat(self.shape)
        self.buffer = RunningStat(self.shape)

    def copy(self) -> MeanStdFilter:
        """An independent copy: statistics and buffer (RLlib name)."""
        other = MeanStdFilter(self.shape, self.demean, self.destd, self.clip)
        other.set_state(self.get_state())
        return other

    def reset_buffer(self) -> None:
        """RLlib 2.x's name of ``clear_buffer``: forget the delta, keep the statistics."""
        self.clear_buffer()

    def as_serializable(self) -> MeanStdFilter:
        """A plain copy to pickle or send (RLlib's; its concurrent filter returns this class)."""
        return self.copy()

    def get_state(self) -> dict:
        """Plain-Python state (str, bool, int, float, lists): loads with weights_only=True."""
        return {
            "type": "MeanStdFilter",
            "shape": list(self.shape),
            "demean": self.demean,
            "destd": self.destd,
            "clip": self.clip,
            "rs": self.rs.get_state(),
            "buffer": self.buffer.get_state(),
        }

    def set_state(self, state: dict) -> None:
        """Load a ``get_state`` dict; it is checked in full before anything changes."""
        _check_state(state, "MeanStdFilter", self.shape)
        rs, buffer = RunningStat(self.shape), RunningStat(self.shape)
        rs.set_state(state["rs"])  # both checked before either is kept: all or nothing
        buffer.set_state(state["buffer"])
        self.demean, self.destd, self.clip = state["demean"], state["destd"], state["clip"]
        self.rs, self.buffer = rs, buffer

    def __repr__(self) -> str:
        return f"MeanStdFilter(shape={self.shape}, n={self.rs.n}, clip={self.clip})"


FILTERS = {"NoFilter": NoFilter, "MeanStdFilter": MeanStdFilter}


def get_filter(name: str, shape: tuple) -> NoFilter | MeanStdFilter:
    """Build the filter called ``name`` ("NoFilter" or "MeanStdFilter") for obs of ``shape``."""
    if name not in FILTERS:
        raise ValueError(
            f"unknown observation_filter '{name}'{suggest(str(name), FILTERS)}; "
            f"choose one of {', '.join(FILTERS)}"
        )
    return FILTERS[name](shape)


def _checked(x: Any, shape: tuple, who: str) -> np.ndarray:
    """``x`` as an array of shape ``[*shape]`` or ``[B, *shape]``, else a ValueError."""
    x = np.asarray(x)
    ndim = len(shape)
    if x.ndim not in (ndim, ndim + 1) or x.shape[x.ndim - ndim :] != shape:
        raise ValueError(
            f"{who} for observations of shape {shape} got an array of shape {x.shape}; pass "
            f"one observation {shape} or a batch [B, {', '.join(map(str, shape))}]"
        )
    check_obs_finite(x, f"observation filter {who}")
    return x


def _check_state(state: dict, kind: str, shape: tuple) -> None:
    if state.get("type") != kind or tuple(state.get("shape", ())) != shape:
        raise ValueError(
            f"{kind} of shape {shape} cannot load the state of a {state.get('type')} of shape "
            f"{tuple(state.get('shape', ()))}; build the matching filter with get_filter"
        )
