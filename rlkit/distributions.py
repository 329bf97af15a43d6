"""Action distributions: the last stage, from model outputs to actions and their log-probabilities.

``Environment -> Preprocessor -> Filter -> Model -> ActionDistribution -> action``. A model
outputs ``inputs: [B, num_outputs] float32``, always logits or distribution parameters, never
probabilities. A distribution reads them and answers what every algorithm asks:

    sample()               an action per row, drawn at random
    deterministic_sample() the most likely (or mean) action per row
    logp(actions)          [B] log-probability (a density for Box actions)
    entropy()              [B]
    kl(other)              [B] KL(self || other), other of the same kind
    sampled_action_logp()  [B] logp of the last sample() / deterministic_sample()

Default mapping (``get_dist_class_for_space``): Discrete -> Categorical, MultiDiscrete ->
MultiCategorical, float Box -> DiagGaussian, Tuple / Dict -> MultiActionDistribution.

Example:
    >>> dist_class, num_outputs = get_dist_class_for_space(gym.spaces.Discrete(3))
    >>> dist = dist_class(torch.zeros(4, num_outputs))  # inputs: [B=4, 3] logits
    >>> dist.sample().shape, dist.sampled_action_logp().shape
    (torch.Size([4]), torch.Size([4]))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from rlkit.config import suggest
from rlkit.spaces import is_nested

# A Gaussian's log std is clamped: far below -20 the 1 / std^2 in logp and its gradient head
# for float32 overflow; above 2 (std 7.4) exploration is noise whatever the action scale.
LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
# tanh(10) is 1.0 in float32, so a larger pre-squash mean changes no action; the clamp keeps
# ((u - mean) / std)^2 finite in SquashedGaussian.logp.
SQUASH_MEAN_BOUND = 10.0
# Squashed / Beta actions are pulled this far inside their bounds before the inverse map, so
# the logp of an action exactly on a bound stays finite.
BOUND_EPS = 1e-6
# Beta concentrations are softplus(x) + 1 with x clamped here: at most ~51, never below 1.
BETA_INPUT_BOUND = 50.0


def _recording(method):
    """Wrap sample/deterministic_sample so the base class remembers the action they return."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        action = method(self, *args, **kwargs)
        self._last_sample = action
        return action

    wrapper._records_sample = True
    return wrapper


class ActionDistribution:
    """Base class: subclass it and define ``sample``, ``logp`` (and ideally the rest).

    Any ``sample`` or ``deterministic_sample`` a subclass defines is wrapped when the class is
    created (``__init_subclass__``) so that the action it returns is remembered; this is how
    ``sampled_action_logp()`` works for a custom class that only writes sample/logp/entropy.

    Args:
        inputs: [B, num_outputs] model outputs (logits or parameters, never probabilities).
        model: the model that produced them (custom distributions may read its attributes).
    """

    def __init__(self, inputs: Any, model: Any = None):
        self.inputs = inputs
        self.model = model
        self._last_sample = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("sample", "deterministic_sample"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_records_sample", False):
                setattr(cls, name, _recording(method))

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any) -> int:
        """The model output width (num_outputs) this distribution needs for ``action_space``."""
        raise NotImplementedError(
            "an ActionDistribution subclass must define the static method "
            "required_model_output_shape(action_space, model_config) returning num_outputs"
        )

    def _missing(self, method: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__}.{method}() is not implemented; "
            f"define it in {type(self).__name__} to use it"
        )

    def sample(self) -> Any:
        """Draw one action per row: [B, ...]."""
        raise self._missing("sample")

    def deterministic_sample(self) -> Any:
        """The most likely (or mean) action per row: [B, ...]."""
        raise self._missing("deterministic_sample")

    def logp(self, actions: Any) -> torch.Tensor:
        """Log-probability of ``actions: [B, ...]``, returns [B]."""
        raise self._missing("logp")

    def entropy(self) -> torch.Tensor:
        """Entropy per row, returns [B]."""
        raise self._missing("entropy")

    def kl(self, other: ActionDistribution) -> torch.Tensor:
        """KL(self || other) per row, returns [B]."""
        raise self._missing("kl")

    def sampled_action_logp(self) -> torch.Tensor:
        """``logp`` of the action last returned by sample() or deterministic_sample(): [B]."""
        last = getattr(self, "_last_sample", None)
        if last is None:
            raise RuntimeError(
                f"{type(self).__name__}.sampled_action_logp() needs an action: "
                "call sample() or deterministic_sample() first"
            )
        return self.logp(last)

    def __repr__(self) -> str:
        shape = list(getattr(self.inputs, "shape", []))
        return f"{type(self).__name__}(inputs: {shape})"


# -- shared checks ---------------------------------------------------------------------------
def _as_inputs(inputs: Any, name: str) -> torch.Tensor:
    """Model outputs as a float tensor [B, num_outputs], or an error that says how to fix them."""
    inputs = torch.as_tensor(inputs)
    if not inputs.is_floating_point():
        inputs = inputs.float()
    if inputs.dim() != 2:
        raise ValueError(
            f"{name} expects inputs of shape [B, num_outputs]; got shape "
            f"{list(inputs.shape)}. A single row needs a batch axis: inputs[None]"
        )
    return inputs


def _halves(inputs: torch.Tensor, name: str, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Split [B, 2A] into two [B, A] halves (e.g. mean and log std)."""
    if inputs.shape[1] % 2:
        raise ValueError(
            f"{name} reads its inputs as [{what}] halves, so num_outputs must be "
            f"even (2 per action dim); got {inputs.shape[1]}"
        )
    first, second = inputs.chunk(2, dim=1)  # [B, 2A] -> 2 x [B, A]
    return first, second


def _as_box_actions(actions: Any, like: torch.Tensor, name: str) -> torch.Tensor:
    """Box actions [B, *shape] as [B, A] in the dtype and device of ``like: [B, A]``."""
    actions = torch.as_tensor(actions, dtype=like.dtype, device=like.device)
    actions = actions.reshape(actions.shape[0], -1) if actions.dim() else actions  # [B, A]
    if actions.shape != like.shape:
        raise ValueError(
            f"{name}.logp got actions of shape {list(actions.shape)} (flattened); "
            f"this distribution has {list(like.shape)}, i.e. [B, action dims]"
        )
    return actions


def _bounds(low: Any, high: Any, like: torch.Tensor, name: str):
    """low/high (scalars or arrays) as tensors [A] or [1] that broadcast against [B, A]."""
    low = torch.as_tensor(low, dtype=like.dtype, device=like.device).reshape(-1)
    high = torch.as_tensor(high, dtype=like.dtype, device=like.device).reshape(-1)
    width = like.shape[1]
    for bound, label in ((low, "low"), (high, "high")):
        if bound.numel() not in (1, width):
            raise ValueError(
                f"{name} got {label} with {bound.numel()} values for {width} action "
                "dims; pass a scalar or one value per action dim"
            )
    if not (torch.isfinite(low).all() and torch.isfinite(high).all() and (low < high).all()):
        raise ValueError(
            f"{name} needs finite bounds with low < high; got low={low.tolist()}, "
            f"high={high.tolist()}"
        )
    return low, high


def _out_of_range(actions: torch.Tensor, n: int) -> bool:
    """Whether any integer action lies outside [0, n) (one reduction: this runs per minibatch)."""
    low, high = torch.aminmax(actions)
    return int(low) < 0 or int(high) >= n


def _check_kind(self: ActionDistribution, other: Any) -> None:
    if type(other) is not type(self):
        raise TypeError(
            f"{type(self).__name__}.kl needs another {type(self).__name__}; got "
            f"{type(other).__name__}"
        )


def _check_same_bounds(self: Any, other: Any) -> None:
    if not (torch.equal(self.low, other.low) and torch.equal(self.high, other.high)):
        raise ValueError(
            f"{type(self).__name__}.kl compares two distributions over different "
            "bounds (low/high); both must use the same action space"
        )


def _space_error(name: str, takes: str, space: gym.Space) -> ValueError:
    try:
        hint = f"; the default for {space} is {dist_name(get_dist_class_for_space(space)[0])}"
    except ValueError:
        hint = ""
    return ValueError(f"{name} takes {takes}; got {space}{hint}")


def _float_box(name: str, space: gym.Space, bounded: bool = False) -> int:
    """Check that ``space`` is a float Box (with finite bounds if ``bounded``); return A."""
    takes = "a float Box action space" + (" with finite bounds" if bounded else "")
    if not (isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating)):
        raise _space_error(name, takes, space)
    if bounded and not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
        raise ValueError(
            f"{name} maps actions into [low, high], so it needs a Box with finite "
            f"bounds; got {space}. Use DiagGaussian or give the Box finite bounds"
        )
    return int(np.prod(space.shape))


# -- discrete actions -----------------------------------------------------------------------
class Categorical(ActionDistribution):
    """One choice among ``n``: softmax over ``inputs / temperature``.

    Action masking (the seed's idiom) works: a masked action's logit is float32 min (or has
    ``max(log(mask), float32 min)`` added). Such an action is never sampled nor chosen by
    ``deterministic_sample`` while any action is unmasked, and logp, entropy and kl stay finite.

    Args:
        inputs: [B, n] logits.
        model: the producing model (unused).
        temperature: > 0; below 1 sharpens, above 1 flattens the distribution.
    """

    def __init__(self, inputs: Any, model: Any = None, temperature: float = 1.0):
        super().__init__(inputs, model)
        if not temperature > 0:
            raise ValueError(f"Categorical temperature must be > 0; got {temperature!r}")
        logits = _as_inputs(inputs, "Categorical")
        finfo = torch.finfo(logits.dtype)
        if temperature != 1.0:
            logits = logits / temperature
        # A masked float_min logit divided by a temperature < 1 becomes -inf (and -inf can come
        # straight from a log(mask)), and a row of -inf turns into NaN: keep every logit finite.
        logits = logits.clamp(finfo.min, finfo.max)
        # float_min - logsumexp can round to -inf; clamped log-probs keep logp finite and spare
        # kl the 0 * (-inf) and (-inf) - (-inf) NaNs where both sides mask an action.
        self.log_probs = torch.log_softmax(logits, dim=1).clamp(min=finfo.min)  # [B, n]
        self._torch_dist = None

    @property
    def dist(self) -> torch.distributions.Categorical:
        """The equivalent ``torch.distributions.Categorical`` (built on first use: sampling and
        logp do not need it, and building it costs more than they do)."""
        if self._torch_dist is None:
            self._torch_dist = torch.distributions.Categorical(
                logits=self.log_probs, validate_args=False
            )
        return self._torch_dist

    @dist.setter
    def dist(self, value: torch.distributions.Categorical) -> None:
        self._torch_dist = value

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        if not isinstance(action_space, gym.spaces.Discrete):
            raise _space_error("Categorical", "a Discrete action space", action_space)
        return int(action_space.n)

    def sample(self) -> torch.Tensor:
        """Returns: [B] int64."""
        # The exponential race torch.multinomial runs for one draw, argmax(p / q) with
        # q ~ Exp(1): the same draws for the same seed, minus its probability checks, which
        # cost more than the draw. Only a NaN can get past the clamps in __init__.
        probs = torch.softmax(self.log_probs, dim=1)  # [B, n]
        if bool(torch.isnan(probs).any()):
            raise RuntimeError(
                "Categorical.sample: the probability tensor contains nan because the model "
                "output NaN logits; the model has diverged (lower lr, set grad_clip, or check "
                "the inputs for NaN)"
            )
        return (probs / torch.empty_like(probs).exponential_()).argmax(dim=1)  # [B]

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B] int64, the argmax action."""
        return self.log_probs.argmax(dim=1)

    def sampled_action_logp(self) -> torch.Tensor:
        """``logp`` of the last sample: [B]. Our own samples need no range checks."""
        last = self._last_sample
        if last is None or type(self).logp is not Categorical.logp:
            return super().sampled_action_logp()
        return self.log_probs.gather(1, last[:, None])[:, 0]  # [B, 1] -> [B]

    def logp(self, actions: Any) -> torch.Tensor:
        """Args: actions: [B] (or [B, 1]) integer indices in [0, n). Returns: [B]."""
        n = self.log_probs.shape[1]
        actions = torch.as_tensor(actions, device=self.log_probs.device)
        if actions.dim() == 2 and actions.shape[1] == 1:
            actions = actions[:, 0]  # [B, 1] -> [B]
        actions = actions.long()
        if actions.shape != self.log_probs.shape[:1]:
            raise ValueError(
                f"Categorical.logp expects actions of shape [B] = "
                f"{list(self.log_probs.shape[:1])}; got {list(actions.shape)}"
            )
        if actions.numel() and _out_of_range(actions, n):
            raise ValueError(
                f"Categorical.logp got actions {actions.unique().tolist()} but only "
                f"0..{n - 1} exist (n={n})"
            )
        return self.log_probs.gather(1, actions[:, None])[:, 0]  # [B, 1] -> [B]

    def entropy(self) -> torch.Tensor:
        """Returns: [B], -sum p log p (a masked action adds 0 * float_min = 0)."""
        return -(self.log_probs.exp() * self.log_probs).sum(dim=1)

    def kl(self, other: Categorical) -> torch.Tensor:
        """Returns: [B], sum p (log p - log q); huge but finite where q masks what p allows."""
        _check_kind(self, other)
        diff = self.log_probs - other.log_probs  # finite: both are clamped to >= float_min
        return (self.log_probs.exp() * diff).sum(dim=1)


class MultiCategorical(ActionDistribution):
    """Independent Categoricals, one per MultiDiscrete entry; inputs are their logits side by side.

    Args:
        inputs: [B, sum(input_lens)] logits.
        model: the producing model (unused).
        input_lens: number of choices of each sub-action, e.g. [3, 2] for MultiDiscrete([3, 2]).
        temperature: passed to every Categorical.
    """

    def __init__(
        self,
        inputs: Any,
        model: Any = None,
        input_lens: Sequence[int] | None = None,
        temperature: float = 1.0,
    ):
        super().__init__(inputs, model)
        inputs = _as_inputs(inputs, "MultiCategorical")
        if not input_lens:
            raise ValueError(
                "MultiCategorical needs input_lens, the number of choices of each "
                "sub-action, e.g. input_lens=[3, 2] for MultiDiscrete([3, 2])"
            )
        self.input_lens = [int(n) for n in input_lens]
        if sum(self.input_lens) != inputs.shape[1]:
            raise ValueError(
                f"MultiCategorical got {inputs.shape[1]} inputs per row but "
                f"input_lens={self.input_lens} sum to {sum(self.input_lens)}"
            )
        self.cats = [
            Categorical(part, model, temperature) for part in inputs.split(self.input_lens, dim=1)
        ]  # K x [B, n_k]

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        if not isinstance(action_space, gym.spaces.MultiDiscrete):
            raise _space_error("MultiCategorical", "a MultiDiscrete action space", action_space)
        return int(action_space.nvec.sum())

    def sample(self) -> torch.Tensor:
        """Returns: [B, K] int64, K = len(input_lens)."""
        return torch.stack([cat.sample() for cat in self.cats], dim=1)

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, K] int64."""
        return torch.stack([cat.deterministic_sample() for cat in self.cats], dim=1)

    def logp(self, actions: Any) -> torch.Tensor:
        """Args: actions: [B, K] integer indices. Returns: [B], the sum over sub-actions."""
        actions = torch.as_tensor(actions).reshape(len(self.cats[0].log_probs), -1)  # [B, K]
        if actions.shape[1] != len(self.cats):
            raise ValueError(
                f"MultiCategorical.logp expects [B, {len(self.cats)}] actions; got "
                f"{list(actions.shape)}"
            )
        return sum(cat.logp(actions[:, k]) for k, cat in enumerate(self.cats))

    def entropy(self) -> torch.Tensor:
        """Returns: [B], the sum over sub-actions."""
        return sum(cat.entropy() for cat in self.cats)

    def kl(self, other: MultiCategorical) -> torch.Tensor:
        """Returns: [B], the sum over sub-actions."""
        _check_kind(self, other)
        if other.input_lens != self.input_lens:
            raise ValueError(
                f"MultiCategorical.kl needs equal input_lens; got {self.input_lens} "
                f"and {other.input_lens}"
            )
        return sum(p.kl(q) for p, q in zip(self.cats, other.cats))


# -- continuous actions ---------------------------------------------------------------------
class DiagGaussian(ActionDistribution):
    """Independent Normal per action dim; inputs are [mean, log_std], log_std clamped to [-20, 2].

    Args:
        inputs: [B, 2A], means then log standard deviations.
        model: the producing model (unused).
    """

    def __init__(self, inputs: Any, model: Any = None):
        super().__init__(inputs, model)
        mean, log_std = _halves(_as_inputs(inputs, "DiagGaussian"), "DiagGaussian", "mean, log_std")
        self.mean, self.log_std = mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)  # [B, A]
        self.dist = Normal(self.mean, self.log_std.exp())

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        return 2 * _float_box("DiagGaussian", action_space)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A] (no gradient)."""
        return self.dist.sample()

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the mean."""
        return self.mean

    def logp(self, actions: Any) -> torch.Tensor:
        """sum_i -0.5 ((a_i - mu_i) / s_i)^2 - log s_i - 0.5 log 2 pi.

        Args: actions: [B, A] or [B, *box_shape]. Returns: [B].
        """
        return self.dist.log_prob(_as_box_actions(actions, self.mean, "DiagGaussian")).sum(dim=1)

    def entropy(self) -> torch.Tensor:
        """Returns: [B], sum_i log s_i + 0.5 log(2 pi e)."""
        return self.dist.entropy().sum(dim=1)

    def kl(self, other: DiagGaussian) -> torch.Tensor:
        """Returns: [B], the closed-form KL summed over action dims."""
        _check_kind(self, other)
        return kl_divergence(self.dist, other.dist).sum(dim=1)


class SquashedGaussian(ActionDistribution):
    """A Gaussian squashed by tanh into [low, high]: a = low + (tanh(u) + 1) (high - low) / 2.

    logp applies the change of variables: log N(u) - log(1 - tanh(u)^2) - log((high - low) / 2).
    entropy() has no closed form and returns the entropy of the Gaussian before squashing, an
    approximation that PPO's entropy bonus can use. kl() is exact: KL does not change under the
    same invertible map of both sides, so it is the Gaussians' KL.

    Args:
        inputs: [B, 2A], pre-squash means then log stds (clamped to [-20, 2]).
        model: the producing model (unused).
        low, high: scalars or arrays with A values (any shape, flattened), low < high.
    """

    def __init__(self, inputs: Any, model: Any = None, low: Any = -1.0, high: Any = 1.0):
        super().__init__(inputs, model)
        mean, log_std = _halves(
            _as_inputs(inputs, "SquashedGaussian"), "SquashedGaussian", "mean, log_std"
        )
        self.mean = mean.clamp(-SQUASH_MEAN_BOUND, SQUASH_MEAN_BOUND)  # [B, A]
        self.log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        self.low, self.high = _bounds(low, high, mean, "SquashedGaussian")  # [A] or [1]
        self.dist = Normal(self.mean, self.log_std.exp())

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        return 2 * _float_box("SquashedGaussian", action_space, bounded=True)

    def _squash(self, u: torch.Tensor) -> torch.Tensor:
        action = self.low + (torch.tanh(u) + 1.0) * 0.5 * (self.high - self.low)
        # Rounding can step one ulp past a bound.
        return torch.minimum(torch.maximum(action, self.low), self.high)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A] in [low, high] (no gradient)."""
        return self._squash(self.dist.sample())

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the squashed mean."""
        return self._squash(self.mean)

    def logp(self, actions: Any) -> torch.Tensor:
        """Args: actions: [B, A] or [B, *box_shape] in [low, high]. Returns: [B]."""
        actions = _as_box_actions(actions, self.mean, "SquashedGaussian")
        unit = 2.0 * (actions - self.low) / (self.high - self.low) - 1.0
        u = torch.atanh(unit.clamp(-1.0 + BOUND_EPS, 1.0 - BOUND_EPS))  # finite at the bounds
        # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), without cancellation at large |u|.
        log_det = 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))
        log_det = log_det + torch.log((self.high - self.low) / 2.0)
        return (self.dist.log_prob(u) - log_det).sum(dim=1)

    def entropy(self) -> torch.Tensor:
        """Returns: [B], the pre-squash Gaussian's entropy (an approximation, see class doc)."""
        return self.dist.entropy().sum(dim=1)

    def kl(self, other: SquashedGaussian) -> torch.Tensor:
        """Returns: [B], exact (equal to the pre-squash Gaussians' KL)."""
        _check_kind(self, other)
        _check_same_bounds(self, other)
        return kl_divergence(self.dist, other.dist).sum(dim=1)


class Beta(ActionDistribution):
    """Independent Beta per action dim, scaled into [low, high].

    Concentrations are softplus(x) + 1 of inputs clamped to [-50, 50], so both are >= 1 and
    the density has one mode inside the interval. deterministic_sample is the mean.

    Args:
        inputs: [B, 2A], alpha inputs then beta inputs.
        model: the producing model (unused).
        low, high: scalars or arrays with A values (any shape, flattened), low < high.
    """

    def __init__(self, inputs: Any, model: Any = None, low: Any = 0.0, high: Any = 1.0):
        super().__init__(inputs, model)
        inputs = _as_inputs(inputs, "Beta").clamp(-BETA_INPUT_BOUND, BETA_INPUT_BOUND)
        alpha, beta = _halves(F.softplus(inputs) + 1.0, "Beta", "alpha, beta")  # [B, A] each
        self.low, self.high = _bounds(low, high, alpha, "Beta")
        self.dist = torch.distributions.Beta(alpha, beta)

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        return 2 * _float_box("Beta", action_space, bounded=True)

    def _scale(self, unit: torch.Tensor) -> torch.Tensor:
        action = self.low + unit * (self.high - self.low)
        return torch.minimum(torch.maximum(action, self.low), self.high)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A] in [low, high]."""
        return self._scale(self.dist.sample())

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the mean low + alpha / (alpha + beta) (high - low)."""
        return self._scale(self.dist.mean)

    def logp(self, actions: Any) -> torch.Tensor:
        """Args: actions: [B, A] or [B, *box_shape] in [low, high]. Returns: [B]."""
        actions = _as_box_actions(actions, self.dist.mean, "Beta")
        unit = ((actions - self.low) / (self.high - self.low)).clamp(BOUND_EPS, 1.0 - BOUND_EPS)
        return (self.dist.log_prob(unit) - torch.log(self.high - self.low)).sum(dim=1)

    def entropy(self) -> torch.Tensor:
        """Returns: [B], exact (the unit Beta's entropy + log(high - low) per dim)."""
        return (self.dist.entropy() + torch.log(self.high - self.low)).sum(dim=1)

    def kl(self, other: Beta) -> torch.Tensor:
        """Returns: [B], exact (KL is unchanged by the shared scaling)."""
        _check_kind(self, other)
        _check_same_bounds(self, other)
        return kl_divergence(self.dist, other.dist).sum(dim=1)


class Deterministic(ActionDistribution):
    """The model output is the action. logp, entropy and kl are 0 by convention (a point mass
    has no density), which keeps losses defined; use it for evaluation, BC or DDPG-style actors.

    Args:
        inputs: [B, A], the actions.
        model: the producing model (unused).
    """

    def __init__(self, inputs: Any, model: Any = None):
        super().__init__(inputs, model)
        self.actions = _as_inputs(inputs, "Deterministic")

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        return _float_box("Deterministic", action_space)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A], the inputs."""
        return self.actions

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the inputs."""
        return self.actions

    def _zeros(self) -> torch.Tensor:
        return self.actions.new_zeros(self.actions.shape[0])  # [B]

    def logp(self, actions: Any) -> torch.Tensor:
        """Returns: [B] zeros."""
        return self._zeros()

    def entropy(self) -> torch.Tensor:
        """Returns: [B] zeros."""
        return self._zeros()

    def kl(self, other: Deterministic) -> torch.Tensor:
        """Returns: [B] zeros."""
        _check_kind(self, other)
        return self._zeros()


# -- Tuple and Dict actions -------------------------------------------------------------------
def _subspaces(space: gym.Space) -> list[tuple[Any, gym.Space]]:
    """(key, child) pairs of a Tuple / Dict in canonical order: Dict keys sorted."""
    if isinstance(space, gym.spaces.Dict):
        return [(key, space.spaces[key]) for key in sorted(space.spaces)]
    return list(enumerate(space.spaces))


def _nest(space: gym.Space, values: list) -> Any:
    """Children's values in canonical order -> a dict (keys sorted) or tuple like ``space``."""
    if isinstance(space, gym.spaces.Dict):
        return {key: value for (key, _), value in zip(_subspaces(space), values)}
    return tuple(values)


def _unnest(space: gym.Space, actions: Any) -> list:
    """A nested action (dict / tuple / list) -> its children's actions in canonical order."""
    keys = [key for key, _ in _subspaces(space)]
    if isinstance(space, gym.spaces.Dict):
        if not isinstance(actions, Mapping) or sorted(actions) != keys:
            found = sorted(actions) if isinstance(actions, Mapping) else type(actions).__name__
            raise ValueError(
                f"actions for {space} must be a dict with keys {keys} (or flat "
                f"[B, F] actions); got {found}"
            )
        return [actions[key] for key in keys]
    if not isinstance(actions, (tuple, list)) or len(actions) != len(keys):
        raise ValueError(
            f"actions for {space} must be a tuple of {len(keys)} actions (or flat "
            f"[B, F] actions); got {type(actions).__name__}"
        )
    return list(actions)


def _flat_width(space: gym.Space) -> int:
    """Columns of ``space`` in the flat layout: 1 per Discrete, prod(shape) per other leaf."""
    if is_nested(space):
        return sum(_flat_width(child) for _, child in _subspaces(space))
    return 1 if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))


def _flatten(space: gym.Space, actions: Any) -> torch.Tensor:
    """Nested actions of ``space`` -> float32 [B, F], leaves side by side in canonical order."""
    if not is_nested(space):
        actions = torch.as_tensor(actions)
        return actions.reshape(actions.shape[0], -1).float()  # [B, *shape] -> [B, width]
    parts = [
        _flatten(child, action)
        for (_, child), action in zip(_subspaces(space), _unnest(space, actions))
    ]
    return torch.cat(parts, dim=1)  # [B, F]


def _unflatten(space: gym.Space, flat: torch.Tensor) -> Any:
    """float [B, F] -> nested actions of ``space`` (Discrete [B] / MultiDiscrete int64)."""
    if isinstance(space, gym.spaces.Discrete):
        return flat[:, 0].round().long()  # [B, 1] -> [B]
    if isinstance(space, gym.spaces.MultiDiscrete):
        return flat.round().long()  # [B, K]
    if not is_nested(space):
        return flat.reshape(flat.shape[0], *space.shape)  # [B, width] -> [B, *shape]
    widths = [_flat_width(child) for _, child in _subspaces(space)]
    parts = flat.split(widths, dim=1)  # one [B, width_i] per child
    return _nest(
        space, [_unflatten(child, part) for (_, child), part in zip(_subspaces(space), parts)]
    )


class MultiActionDistribution(ActionDistribution):
    """One child distribution per entry of a Tuple or Dict action space (nested to any depth).

    Actions come in two forms. *Nested*: a tuple / dict (keys sorted) shaped like the space,
    Discrete entries [B] int64, Box entries [B, *shape], MultiDiscrete [B, K]. *Flat*: one
    float32 tensor [B, F] with the leaves side by side in canonical order (depth first, Dict
    keys sorted): 1 column per Discrete, prod(shape) columns per Box / MultiDiscrete.
    ``logp`` takes either form; entropy and kl are sums over the children.

    Args:
        inputs: [B, sum(input_lens)], the children's inputs side by side.
        model: the producing model, passed on to the children.
        action_space: the Tuple / Dict space.
        child_distributions: one class (or functools.partial) per entry, in canonical order.
        input_lens: each child's num_outputs.
    """

    def __init__(
        self,
        inputs: Any,
        model: Any = None,
        *,
        action_space: gym.Space,
        child_distributions: Sequence[Any],
        input_lens: Sequence[int],
    ):
        super().__init__(inputs, model)
        inputs = _as_inputs(inputs, "MultiActionDistribution")
        if not is_nested(action_space):
            raise _space_error(
                "MultiActionDistribution", "a Tuple or Dict action space", action_space
            )
        self.action_space = action_space
        self.entries = _subspaces(action_space)
        input_lens = [int(n) for n in input_lens]
        if not len(child_distributions) == len(input_lens) == len(self.entries):
            raise ValueError(
                f"MultiActionDistribution for {action_space} needs one child "
                f"distribution and one input_len per entry ({len(self.entries)}); "
                f"got {len(child_distributions)} and {len(input_lens)}"
            )
        if sum(input_lens) != inputs.shape[1]:
            raise ValueError(
                f"MultiActionDistribution got {inputs.shape[1]} inputs per row but "
                f"input_lens={input_lens} sum to {sum(input_lens)}"
            )
        parts = inputs.split(input_lens, dim=1)  # [B, sum] -> one [B, len_i] per child
        self.children = [cls(part, model) for cls, part in zip(child_distributions, parts)]

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        if not is_nested(action_space):
            raise _space_error(
                "MultiActionDistribution", "a Tuple or Dict action space", action_space
            )
        return get_dist_class_for_space(action_space, model_config)[1]

    def _collect(self, method: str) -> Any:
        values = []
        for child, (_, space) in zip(self.children, self.entries):
            action = getattr(child, method)()
            if isinstance(space, gym.spaces.Box):  # Box children give [B, A]
                action = action.reshape(action.shape[0], *space.shape)  # -> [B, *shape]
            values.append(action)
        return _nest(self.action_space, values)

    def sample(self) -> Any:
        """Returns: a tuple / dict shaped like the space, of [B, ...] actions."""
        return self._collect("sample")

    def deterministic_sample(self) -> Any:
        """Returns: a tuple / dict shaped like the space, of [B, ...] actions."""
        return self._collect("deterministic_sample")

    def logp(self, actions: Any) -> torch.Tensor:
        """Args: actions: nested or flat [B, F] (see class doc). Returns: [B], sum over children."""
        if isinstance(actions, (torch.Tensor, np.ndarray)):
            actions = self.unflatten_actions(actions)
        entries = _unnest(self.action_space, actions)
        return sum(child.logp(action) for child, action in zip(self.children, entries))

    def entropy(self) -> torch.Tensor:
        """Returns: [B], the sum of the children's entropies."""
        return sum(child.entropy() for child in self.children)

    def kl(self, other: MultiActionDistribution) -> torch.Tensor:
        """Returns: [B], the sum of the children's KLs."""
        _check_kind(self, other)
        if other.action_space != self.action_space:
            raise ValueError(
                f"MultiActionDistribution.kl needs the same action space; got "
                f"{self.action_space} and {other.action_space}"
            )
        return sum(p.kl(q) for p, q in zip(self.children, other.children))

    def flatten_actions(self, actions: Any) -> torch.Tensor:
        """Nested actions -> flat float32 [B, F] (integers stay exact below 2**24)."""
        return _flatten(self.action_space, actions)

    def unflatten_actions(self, flat: Any) -> Any:
        """Flat [B, F] actions -> the nested form (Discrete and MultiDiscrete as int64)."""
        flat = torch.as_tensor(flat)
        width = _flat_width(self.action_space)
        if flat.dim() != 2 or flat.shape[1] != width:
            raise ValueError(
                f"flat actions for {self.action_space} must have shape "
                f"[B, {width}]; got {list(flat.shape)}"
            )
        return _unflatten(self.action_space, flat)


# -- choosing a distribution for a space --------------------------------------------------------
def get_dist_class_for_space(
    action_space: gym.Space, model_config: Mapping[str, Any] | None = None
) -> tuple[Any, int]:
    """The default distribution for ``action_space`` and the model output width it needs.

    Discrete -> Categorical; MultiDiscrete -> MultiCategorical; float Box -> DiagGaussian;
    Tuple / Dict -> MultiActionDistribution over the entries' defaults, recursively. Classes
    that need extra arguments come back as ``functools.partial``; call either as
    ``dist_class(inputs, model)``, and name either with ``dist_name``.

    Args:
        action_space: the env's action space.
        model_config: the model config (the defaults do not depend on it).

    Returns:
        (dist_class, num_outputs).

    Raises:
        ValueError: a space with no default (integer Box, MultiBinary, Text, ...), naming it.
    """
    return _default_dist(action_space, "action_space")


def _default_dist(space: gym.Space, where: str) -> tuple[Any, int]:
    if isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete)) and np.any(space.start):
        raise ValueError(
            f"{where} is {space} with start={space.start}; rlkit's Categorical "
            "actions count from 0, so shift the env's actions (an ActionWrapper) "
            "or write a custom_action_dist"
        )
    if isinstance(space, gym.spaces.Discrete):
        return Categorical, int(space.n)
    if isinstance(space, gym.spaces.MultiDiscrete):
        lens = [int(n) for n in space.nvec.reshape(-1)]
        return functools.partial(MultiCategorical, input_lens=lens), sum(lens)
    if isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating):
        return DiagGaussian, 2 * int(np.prod(space.shape))
    if is_nested(space):
        children = [_default_dist(child, f"{where}[{key!r}]") for key, child in _subspaces(space)]
        dist = functools.partial(
            MultiActionDistribution,
            action_space=space,
            child_distributions=[cls for cls, _ in children],
            input_lens=[width for _, width in children],
        )
        return dist, sum(width for _, width in children)
    raise ValueError(
        f"rlkit has no default action distribution for {where} = {space}. Write "
        "an ActionDistribution subclass, register it with ModelCatalog."
        "register_custom_action_dist(name, cls) and set the model config key "
        "'custom_action_dist' to name"
    )


def dist_name(dist_class: Any) -> str:
    """A readable name: "Categorical", "MultiActionDistribution(Categorical, DiagGaussian)"."""
    if isinstance(dist_class, functools.partial):
        children = dist_class.keywords.get("child_distributions")
        if children is not None:
            return f"{dist_name(dist_class.func)}({', '.join(map(dist_name, children))})"
        return dist_name(dist_class.func)
    return getattr(dist_class, "__name__", type(dist_class).__name__)


BUILTIN_DISTRIBUTIONS: dict[str, type[ActionDistribution]] = {
    "Categorical": Categorical,
    "DiagGaussian": DiagGaussian,
    "SquashedGaussian": SquashedGaussian,
    "Beta": Beta,
    "Deterministic": Deterministic,
}


def make_builtin_dist(
    name: str, action_space: gym.Space, model_config: Mapping[str, Any] | None = None
) -> tuple[Any, int]:
    """A built-in distribution named in config (``custom_action_dist: "Beta"``) for a space.

    SquashedGaussian and Beta get the Box's low/high bound in (``functools.partial``).

    Returns:
        (dist_class, num_outputs).

    Raises:
        ValueError: an unknown name (with the closest one), or a name that does not fit the
            space (saying which spaces it takes).
    """
    if name not in BUILTIN_DISTRIBUTIONS:
        raise ValueError(
            f"unknown built-in action distribution '{name}'"
            f"{suggest(str(name), BUILTIN_DISTRIBUTIONS)}; built-ins are "
            f"{', '.join(BUILTIN_DISTRIBUTIONS)}"
        )
    dist_class = BUILTIN_DISTRIBUTIONS[name]
    num_outputs = dist_class.required_model_output_shape(action_space, model_config)
    if dist_class in (SquashedGaussian, Beta):
        low = action_space.low.reshape(-1).astype(np.float32)  # [*shape] -> [A]
        high = action_space.high.reshape(-1).astype(np.float32)
        dist_class = functools.partial(dist_class, low=low, high=high)
    return dist_class, num_outputs
