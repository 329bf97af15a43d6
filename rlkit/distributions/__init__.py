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

Files: ``base`` (the ActionDistribution base class), ``categorical`` (Categorical,
MultiCategorical), ``continuous`` (DiagGaussian, SquashedGaussian, Beta, Deterministic),
``multi`` (MultiActionDistribution) and ``defaults`` (choosing a distribution for a space).
"""

from rlkit.distributions.base import ActionDistribution, DistSpec, dist_class_of
from rlkit.distributions.categorical import Categorical, MultiCategorical
from rlkit.distributions.continuous import (
    BETA_INPUT_BOUND,
    BOUND_EPS,
    LOG_STD_MAX,
    LOG_STD_MIN,
    SQUASH_MEAN_BOUND,
    Beta,
    Deterministic,
    DiagGaussian,
    SquashedGaussian,
)
from rlkit.distributions.defaults import (
    BUILTIN_DISTRIBUTIONS,
    dist_name,
    get_dist_class_for_space,
    make_builtin_dist,
)
from rlkit.distributions.multi import MultiActionDistribution

__all__ = [
    "DistSpec",
    "dist_class_of",
    "ActionDistribution",
    "Categorical",
    "MultiCategorical",
    "DiagGaussian",
    "SquashedGaussian",
    "Beta",
    "Deterministic",
    "MultiActionDistribution",
    "get_dist_class_for_space",
    "dist_name",
    "BUILTIN_DISTRIBUTIONS",
    "make_builtin_dist",
    "LOG_STD_MIN",
    "LOG_STD_MAX",
    "SQUASH_MEAN_BOUND",
    "BOUND_EPS",
    "BETA_INPUT_BOUND",
]
