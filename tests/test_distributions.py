"""Action distributions against closed forms and numpy references."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.distributions import (
    BUILTIN_DISTRIBUTIONS,
    ActionDistribution,
    Beta,
    Categorical,
    Deterministic,
    DiagGaussian,
    MultiActionDistribution,
    MultiCategorical,
    SquashedGaussian,
    dist_class_of,
    dist_name,
    get_dist_class_for_space,
    make_builtin_dist,
)
from rlkit.spaces import leaf_paths, value_leaves

Box, Discrete, MultiDiscrete = gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete
FLOAT_MIN = torch.finfo(torch.float32).min

TUPLE_SPACE = gym.spaces.Tuple((Discrete(2), Discrete(3), Box(-1, 1, (5,))))
DICT_SPACE = gym.spaces.Dict({"move": Discrete(5), "aim": Box(-1, 1, (3,))})
NESTED_SPACE = gym.spaces.Dict(
    {
        "b": Discrete(4),
        "a": gym.spaces.Tuple((MultiDiscrete([2, 3]), Box(-2, 2, (2, 2)))),
    }
)


def np_log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


# -- widths and the default mapping --------------------------------------------------------------
@pytest.mark.parametrize(
    "space, width, name",
    [
        (Discrete(2), 2, "Categorical"),
        (Box(-1, 1, (3,)), 6, "DiagGaussian"),
        (MultiDiscrete([1, 2, 3, 4]), 10, "MultiCategorical"),
        (TUPLE_SPACE, 15, "MultiActionDistribution(Categorical, Categorical, DiagGaussian)"),
        (DICT_SPACE, 11, "MultiActionDistribution(DiagGaussian, Categorical)"),
        (
            NESTED_SPACE,
            17,
            "MultiActionDistribution(MultiCategorical, DiagGaussian, Categorical)",  # per leaf
        ),
    ],
)
def test_default_mapping_widths_and_names(space, width, name):
    dist_class, num_outputs = get_dist_class_for_space(space, {})
    assert num_outputs == width
    assert dist_name(dist_class) == name
    cls = dist_class_of(dist_class)
    assert cls.required_model_output_shape(space, {}) == width
    dist = dist_class(torch.zeros(3, width), None)
    assert dist.logp(dist.sample()).shape == (3,)


@pytest.mark.parametrize(
    "space, named",
    [
        (gym.spaces.Text(5), "action_space = Text("),
        (gym.spaces.MultiBinary(3), "action_space = MultiBinary(3)"),
        (gym.spaces.Tuple((Discrete(2), gym.spaces.Text(4))), "action_space[1] = Text("),
    ],
)
def test_unsupported_space_names_space_and_suggests_custom_dist(space, named):
    with pytest.raises(ValueError, match="custom_action_dist") as info:
        get_dist_class_for_space(space, {})
    assert named in str(info.value)


def test_discrete_with_nonzero_start_is_refused():
    with pytest.raises(ValueError, match="start"):
        get_dist_class_for_space(Discrete(3, start=1))


def test_make_builtin_dist_binds_bounds_and_checks_space():
    box = Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 10.0], np.float32))
    dist_class, width = make_builtin_dist("SquashedGaussian", box, {})
    assert width == 4 and dist_name(dist_class) == "SquashedGaussian"
    actions = dist_class(torch.randn(2000, 4) * 3, None).sample()
    assert (actions >= torch.tensor([-2.0, 0.0])).all()
    assert (actions <= torch.tensor([2.0, 10.0])).all()
    assert actions[:, 1].max() > 5.0  # the second dim really spans [0, 10]
    assert make_builtin_dist("Deterministic", box)[1] == 2
    with pytest.raises(ValueError, match="Discrete"):
        make_builtin_dist("Categorical", box)
    with pytest.raises(ValueError, match="did you mean 'Categorical'"):
        make_builtin_dist("Categorial", Discrete(3))
    with pytest.raises(ValueError, match="finite bounds"):
        make_builtin_dist("Beta", Box(-np.inf, np.inf, (2,)))
    assert set(BUILTIN_DISTRIBUTIONS) == {
        "Categorical",
        "DiagGaussian",
        "SquashedGaussian",
        "Beta",
        "Deterministic",
    }


# -- Categorical -------------------------------------------------------------------------------
def test_categorical_logp_entropy_match_numpy_softmax(seed):
    logits = np.random.randn(6, 4).astype(np.float32) * 2
    actions = np.array([0, 1, 2, 3, 1, 0])
    dist = Categorical(torch.tensor(logits))
    ref_logp = np_log_softmax(logits.astype(np.float64))
    np.testing.assert_allclose(
        dist.logp(torch.tensor(actions)).numpy(),
        ref_logp[np.arange(6), actions],
        rtol=1e-5,
        atol=1e-6,
    )
    ref_entropy = -(np.exp(ref_logp) * ref_logp).sum(axis=1)
    np.testing.assert_allclose(dist.entropy().numpy(), ref_entropy, rtol=1e-5, atol=1e-6)
    assert torch.equal(dist.deterministic_sample(), torch.tensor(logits.argmax(axis=1)))


def test_categorical_temperature_divides_logits(seed):
    logits = np.random.randn(5, 3).astype(np.float32)
    actions = torch.tensor([0, 1, 2, 0, 1])
    hot = Categorical(torch.tensor(logits), temperature=0.5)
    ref = np_log_softmax(logits.astype(np.float64) / 0.5)[np.arange(5), actions.numpy()]
    np.testing.assert_allclose(hot.logp(actions).numpy(), ref, rtol=1e-5, atol=1e-6)
    cold = Categorical(torch.tensor(logits), temperature=100.0)
    assert (cold.entropy() > hot.entropy()).all()
    np.testing.assert_allclose(cold.entropy().numpy(), math.log(3), atol=1e-3)
    with pytest.raises(ValueError, match="temperature"):
        Categorical(torch.tensor(logits), temperature=0.0)


def test_categorical_kl_matches_numpy(seed):
    p_logits = np.random.randn(4, 5).astype(np.float32)
    q_logits = np.random.randn(4, 5).astype(np.float32)
    kl = Categorical(torch.tensor(p_logits)).kl(Categorical(torch.tensor(q_logits)))
    lp, lq = (
        np_log_softmax(p_logits.astype(np.float64)),
        np_log_softmax(q_logits.astype(np.float64)),
    )
    np.testing.assert_allclose(
        kl.numpy(), (np.exp(lp) * (lp - lq)).sum(axis=1), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("temperature", [1.0, 0.3])
@pytest.mark.parametrize("num_masked", [1, 5, 9])
def test_masked_actions_are_never_sampled_and_stay_finite(seed, num_masked, temperature):
    n, batch = 10, 10_000
    raw = torch.randn(batch, n) * 3
    mask = torch.ones(batch, n)
    for row in range(batch):  # a different random set of masked actions per row
        mask[row, torch.randperm(n)[:num_masked]] = 0
    # The seed's idiom: logits + max(log(mask), float_min). Masked raw logits are made the
    # largest so that ignoring the mask would pick them.
    raw = torch.where(mask == 0, raw.abs() + 10, raw)
    logits = raw + torch.clamp(torch.log(mask), min=FLOAT_MIN)
    dist = Categorical(logits, temperature=temperature)
    samples = dist.sample()
    assert (mask[torch.arange(batch), samples] == 1).all()
    assert (mask[torch.arange(batch), dist.deterministic_sample()] == 1).all()
    for value in (
        dist.logp(samples),
        dist.entropy(),
        dist.kl(dist),
        dist.kl(Categorical(torch.randn(batch, n) + logits)),
    ):
        assert torch.isfinite(value).all()
    assert torch.allclose(dist.kl(dist), torch.zeros(batch), atol=1e-5)
    # Renormalised over the unmasked actions only.
    kept = torch.softmax(torch.where(mask == 1, raw / temperature, -torch.inf), dim=1)
    assert torch.allclose(dist.logp(samples).exp(), kept[torch.arange(batch), samples], atol=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_masking_next_to_huge_logits_or_a_fully_masked_row_stays_finite(temperature):
    logits = torch.tensor([[1e35, FLOAT_MIN, FLOAT_MIN], [FLOAT_MIN] * 3, [3.0, FLOAT_MIN, -1e38]])
    dist = Categorical(logits, temperature=temperature)
    other = Categorical(logits.flip(0), temperature=temperature)
    samples = dist.sample()
    assert samples[0] == 0 and samples[2] == 0
    for value in (
        dist.logp(samples),
        dist.logp(torch.tensor([1, 1, 1])),
        dist.entropy(),
        dist.kl(dist),
        dist.kl(other),
    ):
        assert torch.isfinite(value).all()
    # A row with every action masked carries no preference: uniform.
    assert torch.allclose(dist.logp(torch.tensor([0, 2, 0]))[1], torch.tensor(-math.log(3)))
    assert torch.allclose(dist.entropy()[[0, 2]], torch.zeros(2))


def test_categorical_kl_where_both_mask_the_same_action_is_exact():
    mask_logits = torch.tensor([[0.0, 1.0, FLOAT_MIN], [FLOAT_MIN, FLOAT_MIN, 2.0]])
    other = mask_logits + torch.tensor([[0.5, -0.5, 0.0], [0.0, 0.0, 1.0]])
    kl = Categorical(mask_logits).kl(Categorical(other))
    lp = np_log_softmax(np.array([0.0, 1.0]))
    lq = np_log_softmax(np.array([0.5, 0.5]))
    np.testing.assert_allclose(kl.numpy(), [(np.exp(lp) * (lp - lq)).sum(), 0.0], atol=1e-6)


def test_categorical_bad_actions_and_inputs_raise_clear_errors():
    dist = Categorical(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="0..2"):
        dist.logp(torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"\[B, num_outputs\]"):
        Categorical(torch.zeros(3))


def test_multicategorical_is_sum_of_categoricals(seed):
    logits = torch.randn(4, 10)
    dist = MultiCategorical(logits, None, input_lens=[1, 2, 3, 4])
    actions = dist.sample()
    assert actions.shape == (4, 4) and actions.dtype == torch.int64
    parts = logits.split([1, 2, 3, 4], dim=1)
    ref_logp = sum(Categorical(p).logp(actions[:, k]) for k, p in enumerate(parts))
    assert torch.allclose(dist.logp(actions), ref_logp)
    assert torch.allclose(dist.entropy(), sum(Categorical(p).entropy() for p in parts))
    other = MultiCategorical(torch.randn(4, 10), input_lens=[1, 2, 3, 4])
    assert torch.allclose(
        dist.kl(other), sum(Categorical(p).kl(c) for p, c in zip(parts, other.cats))
    )
    with pytest.raises(ValueError, match="input_lens"):
        MultiCategorical(logits, input_lens=[2, 3])


# -- continuous ----------------------------------------------------------------------------------
def test_diag_gaussian_logp_entropy_kl_closed_form(seed):
    mean, log_std = np.random.randn(5, 3), np.random.randn(5, 3) * 0.5
    inputs = torch.tensor(np.concatenate([mean, log_std], axis=1), dtype=torch.float32)
    actions = np.random.randn(5, 3)
    dist = DiagGaussian(inputs)
    s = np.exp(log_std)
    ref = (-0.5 * ((actions - mean) / s) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(axis=1)
    np.testing.assert_allclose(dist.logp(torch.tensor(actions)).numpy(), ref, rtol=1e-5)
    ref_entropy = (log_std + 0.5 * np.log(2 * np.pi * np.e)).sum(axis=1)
    np.testing.assert_allclose(dist.entropy().numpy(), ref_entropy, rtol=1e-5)
    mean2, log_std2 = np.random.randn(5, 3), np.random.randn(5, 3) * 0.5
    other = DiagGaussian(torch.tensor(np.concatenate([mean2, log_std2], 1), dtype=torch.float32))
    s2 = np.exp(log_std2)
    ref_kl = (log_std2 - log_std + (s**2 + (mean - mean2) ** 2) / (2 * s2**2) - 0.5).sum(axis=1)
    np.testing.assert_allclose(dist.kl(other).numpy(), ref_kl, rtol=1e-4)
    assert torch.equal(dist.deterministic_sample(), inputs[:, :3])
    with pytest.raises(ValueError, match="even"):
        DiagGaussian(torch.zeros(2, 3))


def test_diag_gaussian_clamps_log_std():
    dist = DiagGaussian(torch.tensor([[0.0, 50.0], [0.0, -50.0]]))
    assert torch.allclose(dist.log_std, torch.tensor([[2.0], [-20.0]]))


def test_squashed_gaussian_bounds_and_change_of_variables(seed):
    low, high = np.array([-2.0, 0.0, 1.0]), np.array([2.0, 10.0, 1.5])
    mean, log_std = np.random.randn(6, 3), np.random.randn(6, 3) * 0.5
    inputs = torch.tensor(np.concatenate([mean, log_std], 1), dtype=torch.float32)
    dist = SquashedGaussian(inputs, None, low=low, high=high)
    big = SquashedGaussian(inputs.repeat(500, 1) * 4, None, low=low, high=high).sample()
    assert (big >= torch.tensor(low, dtype=torch.float32)).all()
    assert (big <= torch.tensor(high, dtype=torch.float32)).all()
    actions = dist.sample().double().numpy()
    unit = 2 * (actions - low) / (high - low) - 1
    u = np.arctanh(unit)
    s = np.exp(log_std)
    log_normal = -0.5 * ((u - mean) / s) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
    ref = (log_normal - np.log(1 - np.tanh(u) ** 2) - np.log((high - low) / 2)).sum(axis=1)
    np.testing.assert_allclose(dist.logp(torch.tensor(actions)).numpy(), ref, rtol=1e-3, atol=1e-3)
    expected_mode = low + (np.tanh(mean) + 1) * (high - low) / 2
    np.testing.assert_allclose(
        dist.deterministic_sample().numpy(), expected_mode, rtol=1e-5, atol=1e-5
    )
    on_bounds = torch.tensor(np.stack([low, high]), dtype=torch.float32)
    assert torch.isfinite(SquashedGaussian(inputs[:2], low=low, high=high).logp(on_bounds)).all()


def test_squashed_gaussian_kl_is_the_gaussian_kl(seed):
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    kl = SquashedGaussian(a, low=-3.0, high=3.0).kl(SquashedGaussian(b, low=-3.0, high=3.0))
    assert torch.allclose(kl, DiagGaussian(a).kl(DiagGaussian(b)))
    with pytest.raises(ValueError, match="bounds"):
        SquashedGaussian(a).kl(SquashedGaussian(b, low=-3.0, high=3.0))


def test_beta_bounds_logp_and_mean(seed):
    low, high = np.array([-1.0, 2.0]), np.array([1.0, 5.0])
    inputs = torch.randn(8, 4) * 2
    dist = Beta(inputs, None, low=low, high=high)
    samples = Beta(inputs.repeat(500, 1) * 10, low=low, high=high).sample()
    assert (samples >= torch.tensor(low, dtype=torch.float32)).all()
    assert (samples <= torch.tensor(high, dtype=torch.float32)).all()
    conc = np.log1p(np.exp(inputs.double().numpy())) + 1
    alpha, beta = conc[:, :2], conc[:, 2:]
    actions = dist.sample().double().numpy()
    x = (actions - low) / (high - low)
    lbeta = np.vectorize(lambda a, b: math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    ref = (
        (alpha - 1) * np.log(x)
        + (beta - 1) * np.log1p(-x)
        - lbeta(alpha, beta)
        - np.log(high - low)
    ).sum(axis=1)
    np.testing.assert_allclose(dist.logp(torch.tensor(actions)).numpy(), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        dist.deterministic_sample().numpy(), low + alpha / (alpha + beta) * (high - low), rtol=1e-5
    )


def test_deterministic_is_a_point_mass():
    inputs = torch.randn(3, 2)
    dist = Deterministic(inputs)
    assert torch.equal(dist.sample(), inputs) and torch.equal(dist.deterministic_sample(), inputs)
    for value in (dist.logp(inputs), dist.entropy(), dist.kl(Deterministic(inputs))):
        assert torch.equal(value, torch.zeros(3))


# -- Tuple and Dict ------------------------------------------------------------------------------
@pytest.mark.parametrize("space", [TUPLE_SPACE, DICT_SPACE, NESTED_SPACE])
def test_multi_action_logp_nested_equals_flat_equals_children(seed, space):
    dist_class, width = get_dist_class_for_space(space)
    dist = dist_class(torch.randn(4, width), None)
    actions = dist.sample()
    if isinstance(space, gym.spaces.Dict):
        assert list(actions) == sorted(space.spaces)
    flat = dist.flatten_actions(actions)
    columns = sum(
        1 if isinstance(leaf, Discrete) else int(np.prod(leaf.shape)) for leaf in _leaves(space)
    )
    assert flat.shape == (4, columns)
    leaves = [leaf for _, leaf in leaf_paths(space)]
    assert len(dist.children) == len(leaves)  # one child per leaf, as in RLlib
    by_children = sum(c.logp(a) for c, a in zip(dist.children, value_leaves(actions)))
    assert torch.allclose(dist.logp(actions), by_children)
    assert torch.allclose(dist.logp(flat), by_children)
    assert torch.allclose(dist.entropy(), sum(c.entropy() for c in dist.children))
    other = dist_class(torch.randn(4, width))
    assert torch.allclose(
        dist.kl(other), sum(p.kl(q) for p, q in zip(dist.children, other.children))
    )
    assert torch.equal(dist.flatten_actions(dist.unflatten_actions(flat)), flat)


def _leaves(space):
    if isinstance(space, gym.spaces.Dict):
        return [leaf for key in sorted(space.spaces) for leaf in _leaves(space[key])]
    if isinstance(space, gym.spaces.Tuple):
        return [leaf for child in space.spaces for leaf in _leaves(child)]
    return [space]


def test_multi_action_sample_shapes_follow_the_space(seed):
    dist_class, width = get_dist_class_for_space(NESTED_SPACE)
    actions = dist_class(torch.randn(5, width)).deterministic_sample()
    assert actions["b"].shape == (5,) and actions["b"].dtype == torch.int64
    assert actions["a"][0].shape == (5, 2) and actions["a"][1].shape == (5, 2, 2)
    flat = torch.cat(
        [actions["a"][0].float(), actions["a"][1].reshape(5, 4), actions["b"][:, None].float()],
        dim=1,
    )  # canonical order: 'a' then 'b'
    assert torch.equal(dist_class(torch.randn(5, width)).flatten_actions(actions), flat)


def test_multi_action_rejects_wrong_structure():
    dist_class, width = get_dist_class_for_space(DICT_SPACE)
    dist = dist_class(torch.zeros(2, width))
    with pytest.raises(ValueError, match="keys"):
        dist.logp({"move": torch.zeros(2)})
    with pytest.raises(ValueError, match=r"\[B, 4\]"):
        dist.logp(torch.zeros(2, 3))
    direct = MultiActionDistribution(
        torch.zeros(2, 11),
        action_space=DICT_SPACE,
        child_distributions=[DiagGaussian, Categorical],
        input_lens=[6, 5],
    )
    assert torch.allclose(direct.logp(dist.sample()), dist.sampled_action_logp())
    with pytest.raises(ValueError, match="sum to 11"):
        MultiActionDistribution(
            torch.zeros(2, 10),
            action_space=DICT_SPACE,
            child_distributions=[DiagGaussian, Categorical],
            input_lens=[6, 5],
        )


# -- sampled_action_logp and custom subclasses ------------------------------------------------
class OnlySampleAndLogp(ActionDistribution):
    """A custom distribution written as in the seed: sample, logp and nothing else."""

    @staticmethod
    def required_model_output_shape(action_space, model_config):
        return 2

    def sample(self):
        return (self.inputs[:, 0] > 0).long()

    def logp(self, actions):
        return torch.where(actions == 1, self.inputs[:, 0], -self.inputs[:, 1])


class RecordsItsSample(OnlySampleAndLogp):
    """The same, with the one line that makes sampled_action_logp() work (RLlib's last_sample)."""

    def sample(self):
        return self._record(super().sample())


def test_sampled_action_logp_of_an_unrecorded_sample_says_how_to_record_it():
    dist = OnlySampleAndLogp(torch.randn(3, 2), None)
    dist.sample()
    with pytest.raises(RuntimeError, match=r"return self._record\(action\)"):
        dist.sampled_action_logp()


def _builtin_cases():
    box = Box(-2.0, 3.0, (2,))
    cases = [
        get_dist_class_for_space(s)
        for s in (Discrete(4), MultiDiscrete([2, 3]), box, TUPLE_SPACE, DICT_SPACE, NESTED_SPACE)
    ]
    cases += [
        make_builtin_dist(name, box) for name in ("SquashedGaussian", "Beta", "Deterministic")
    ]
    return cases


@pytest.mark.parametrize(
    "dist_class, width",
    _builtin_cases() + [(RecordsItsSample, 2)],
    ids=lambda c: dist_name(c) if not isinstance(c, int) else str(c),
)
def test_sampled_action_logp_is_logp_of_last_sample(seed, dist_class, width):
    dist = dist_class(torch.randn(6, width), None)
    with pytest.raises(RuntimeError, match="sample"):
        dist.sampled_action_logp()
    actions = dist.sample()
    assert torch.equal(dist.sampled_action_logp(), dist.logp(actions))
    if dist_class is not RecordsItsSample:
        mode = dist.deterministic_sample()
        assert torch.equal(dist.sampled_action_logp(), dist.logp(mode))


def test_custom_subclass_missing_methods_name_the_class():
    dist = OnlySampleAndLogp(torch.zeros(2, 2), None)
    with pytest.raises(NotImplementedError, match="OnlySampleAndLogp.entropy"):
        dist.entropy()
    with pytest.raises(NotImplementedError, match="OnlySampleAndLogp.kl"):
        dist.kl(dist)
    with pytest.raises(TypeError, match="Categorical.kl needs another Categorical"):
        Categorical(torch.zeros(2, 2)).kl(dist)


# -- numerical safety ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [1e8, -1e8, 1e34, -1e34, 1e-34])
@pytest.mark.parametrize(
    "dist_class, width",
    _builtin_cases(),
    ids=lambda c: dist_name(c) if not isinstance(c, int) else str(c),
)
def test_extreme_inputs_stay_finite(dist_class, width, value):
    inputs = torch.full((4, width), value)
    inputs[1] = -inputs[1]  # mixed signs across rows
    inputs[2, ::2] = 0.0  # and inside a row
    dist = dist_class(inputs, None)
    other = dist_class(inputs.clone(), None)

    def leaves(x):
        if isinstance(x, dict):
            return [leaf for v in x.values() for leaf in leaves(v)]
        if isinstance(x, tuple):
            return [leaf for v in x for leaf in leaves(v)]
        return [x.float()]

    for actions in (dist.sample(), dist.deterministic_sample()):
        assert all(torch.isfinite(leaf).all() for leaf in leaves(actions))
        assert torch.isfinite(dist.logp(actions)).all()
    assert torch.isfinite(dist.entropy()).all()
    assert torch.isfinite(dist.kl(other)).all()
