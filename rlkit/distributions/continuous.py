"""Continuous (Box) actions: DiagGaussian, SquashedGaussian, Beta and Deterministic."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from rlkit.distributions.base import (
    ActionDistribution,
    _as_box_actions,
    _as_inputs,
    _bounds,
    _check_kind,
    _check_same_bounds,
    _float_box,
    _halves,
)
from rlkit.utils.seeding import generator, numpy_rng

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


@torch.no_grad()
def _normal_sample(dist: Normal) -> torch.Tensor:
    """``dist.sample()`` drawn from ``rlkit.utils.seeding.generator()``."""
    return torch.normal(dist.loc, dist.scale, generator=generator())


@torch.no_grad()
def _beta_sample(dist: torch.distributions.Beta) -> torch.Tensor:
    """A Beta draw [B, A]; inside a trainer's block from its generator (via numpy's Beta).

    torch's gamma sampler takes no generator, so the trainer's generator seeds numpy's.
    """
    if generator() is None:
        return dist.sample()
    alpha, beta = dist.concentration1, dist.concentration0
    draw = numpy_rng().beta(alpha.cpu().double().numpy(), beta.cpu().double().numpy())
    return torch.as_tensor(draw, dtype=alpha.dtype, device=alpha.device)


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
        """A mean and a log std per action dimension: 2A."""
        return 2 * _float_box("DiagGaussian", action_space)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A] (no gradient)."""
        return self._record(_normal_sample(self.dist))

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the mean."""
        return self._record(self.mean)

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
        """A mean and a log std per action dimension (before squashing): 2A."""
        return 2 * _float_box("SquashedGaussian", action_space, bounded=True)

    def _squash(self, u: torch.Tensor) -> torch.Tensor:
        action = self.low + (torch.tanh(u) + 1.0) * 0.5 * (self.high - self.low)
        # Rounding can step one ulp past a bound.
        return torch.minimum(torch.maximum(action, self.low), self.high)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A] in [low, high] (no gradient)."""
        return self._record(self._squash(_normal_sample(self.dist)))

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the squashed mean."""
        return self._record(self._squash(self.mean))

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
    the density has one mode inside the interval. deterministic_sample is the mean. As in
    RLlib, ``.inputs`` holds the concentrations ``[alpha..., beta...]`` ``[B, 2A]``, not the
    raw model outputs.

    Args:
        inputs: [B, 2A], alpha inputs then beta inputs.
        model: the producing model (unused).
        low, high: scalars or arrays with A values (any shape, flattened), low < high.
    """

    def __init__(self, inputs: Any, model: Any = None, low: Any = 0.0, high: Any = 1.0):
        super().__init__(inputs, model)
        inputs = _as_inputs(inputs, "Beta").clamp(-BETA_INPUT_BOUND, BETA_INPUT_BOUND)
        concentrations = F.softplus(inputs) + 1.0  # [B, 2A]
        alpha, beta = _halves(concentrations, "Beta", "alpha, beta")  # [B, A] each
        # RLlib's TorchBeta keeps the concentrations as .inputs, and code ported from it
        # reads alpha and beta there.
        self.inputs = concentrations
        self.low, self.high = _bounds(low, high, alpha, "Beta")
        self.dist = torch.distributions.Beta(alpha, beta)

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        """Two concentration inputs (alpha, beta before softplus + 1) per action dimension: 2A."""
        return 2 * _float_box("Beta", action_space, bounded=True)

    def _scale(self, unit: torch.Tensor) -> torch.Tensor:
        action = self.low + unit * (self.high - self.low)
        return torch.minimum(torch.maximum(action, self.low), self.high)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A] in [low, high]."""
        return self._record(self._scale(_beta_sample(self.dist)))

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the mean low + alpha / (alpha + beta) (high - low)."""
        return self._record(self._scale(self.dist.mean))

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
    """The model output is the action: a point mass.

    logp, entropy and kl are 0 by convention (a point mass has no density), which keeps losses
    defined; use it for evaluation, BC or DDPG-style actors.

    Args:
        inputs: [B, A], the actions.
        model: the producing model (unused).
    """

    def __init__(self, inputs: Any, model: Any = None):
        super().__init__(inputs, model)
        self.actions = _as_inputs(inputs, "Deterministic")

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        """The action itself: A outputs."""
        return _float_box("Deterministic", action_space)

    def sample(self) -> torch.Tensor:
        """Returns: [B, A], the inputs."""
        return self._record(self.actions)

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, A], the inputs."""
        return self._record(self.actions)

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
