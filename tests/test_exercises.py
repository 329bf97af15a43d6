"""The classroom exercises' checks: the teachers' solutions (solutions/) pass, typical wrong
answers fail with the message that names what differs (type, shape, dtype, value, gradient) and
where, plus the right hint; a detached answer fails wherever gradients must flow; every verdict
carries a score; the stored expected answers are what the solutions compute."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rlkit.exercises import CHECKS, EXERCISES, ToyActionModel

ROOT = Path(__file__).resolve().parents[1]
F32_MIN = torch.finfo(torch.float32).min


def _load(name):
    path = ROOT / "solutions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTIONS = _load("exercise_solutions").SOLUTIONS
reference = SimpleNamespace(**SOLUTIONS)  # wrong answers below are built from right ones


def check(name, fn):
    return CHECKS[name](fn)


# -- both ways: the solutions pass, stubs and wrong answers do not -----------------------------
def test_there_are_at_least_eight_exercises_and_each_has_a_solution():
    assert len(EXERCISES) >= 8
    assert set(SOLUTIONS) == set(EXERCISES) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_teacher_solution_passes_and_prints_a_success_verdict(name, capsys):
    verdict = check(name, SOLUTIONS[name])
    assert verdict and verdict.passed
    n = len(EXERCISES[name].cases)
    assert verdict.score == 1.0 and verdict.points(5) == 5.0
    out = capsys.readouterr().out
    assert out.startswith(f"✓ {name}: all ") and "match the expected answers" in out
    assert f"Score {n}/{n}." in out


def test_the_student_package_holds_no_answer_key():
    import rlkit.exercises as package

    assert not (ROOT / "rlkit" / "exercises" / "reference.py").exists()
    with pytest.raises(ImportError):
        from rlkit.exercises import reference  # noqa: F401
    for exercise in EXERCISES.values():
        assert not hasattr(exercise, "reference")
    assert not hasattr(package, "SOLUTIONS")


def test_stored_expected_answers_are_what_the_solutions_compute():
    # Fails when a case or a solution changed without: python solutions/make_expected.py
    stored = json.loads((ROOT / "rlkit" / "exercises" / "expected.json").read_text())
    _assert_same_answers(_load("make_expected").build(), stored, "expected.json")


def _assert_same_answers(fresh, stored, where):
    # Same structure, dtypes and shapes; numbers to float32 rounding (another CPU may take
    # another SIMD path through log_softmax and differ in the last bit).
    if isinstance(stored, dict):
        assert isinstance(fresh, dict) and set(fresh) == set(stored), where
        for key in stored:
            _assert_same_answers(fresh[key], stored[key], f"{where}/{key}")
    elif isinstance(stored, list) and any(isinstance(x, (dict, list)) for x in stored):
        assert isinstance(fresh, list) and len(fresh) == len(stored), where
        for i, (f, s) in enumerate(zip(fresh, stored)):
            _assert_same_answers(f, s, f"{where}[{i}]")
    elif isinstance(stored, (list, float)):
        np.testing.assert_allclose(fresh, stored, rtol=1e-6, atol=1e-7, err_msg=where)
    else:
        assert fresh == stored, where


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_stub_fails_with_a_message_to_write_the_code(name):
    def stub(*args):
        raise NotImplementedError("write your code here")

    verdict = check(name, stub)
    assert not verdict and verdict.score == 0.0 and verdict.points(3) == 0.0
    n = len(EXERCISES[name].cases)
    assert f"✗ {name}: not yet. In case 1 of" in verdict.message
    assert verdict.message.endswith(f"Score 0/{n} cases.")
    assert "still the stub" in verdict.message
    assert verdict.case == EXERCISES[name].cases[0].label


def test_passing_something_that_is_not_a_function_says_how_to_call_the_check():
    verdict = check("one_hot", np.eye(3))
    assert not verdict and "check_one_hot(one_hot)" in verdict.message


def test_an_exception_in_student_code_names_its_type_line_and_the_inputs():
    def one_hot(x, n):
        out = np.zeros((len(x), n), dtype=np.float32)
        out[x] = 1.0  # indexes rows with the values: out of bounds for x = [0, 3, 1]
        return out

    verdict = check("one_hot", one_hot)
    assert "raised IndexError" in verdict.message
    assert "line " in verdict.message and "of your code" in verdict.message
    assert "inputs: x=np.array([0, 3, 1], dtype=int64), n=4" in verdict.message


def test_returning_none_says_the_return_statement_is_missing():
    verdict = check("one_hot", lambda x, n: None)
    assert "type differs" in verdict.message and "forget the return statement" in verdict.message


def test_a_function_that_changes_its_input_in_place_is_told_so():
    def running_mean_std(count, mean, var, batch):
        mean += 0.0  # harmless here, but the same line with a batch would corrupt the caller's
        batch -= batch.mean(axis=0)
        return reference.running_mean_std(count, mean, var, batch)

    verdict = check("running_mean_std", running_mean_std)
    assert "changed its input 'batch' in place" in verdict.message


def test_the_verdict_is_printed_once_and_the_object_displays_nothing_more(capsys):
    verdict = check("one_hot", SOLUTIONS["one_hot"])
    assert capsys.readouterr().out.count("✓") == 1
    assert verdict._ipython_display_() is None
    assert str(verdict) == verdict.message


# -- gradients must flow where the exercise says so -------------------------------------------
GRAD_EXERCISES = sorted(name for name, ex in EXERCISES.items() if ex.grad_args)


def test_the_exercises_that_feed_a_loss_check_their_gradients():
    assert set(GRAD_EXERCISES) >= {
        "categorical_logp",
        "categorical_entropy",
        "masked_logits",
        "ppo_clip_loss",
        "autoregressive_logp",
    }


def _detached(fn):
    return lambda *args: fn(*args).detach()


def _under_no_grad(fn):
    def answer(*args):
        with torch.no_grad():
            return fn(*args)

    return answer


def _through_numpy(fn):
    return lambda *args: torch.as_tensor(fn(*args).detach().numpy().copy())


@pytest.mark.parametrize("name", GRAD_EXERCISES)
@pytest.mark.parametrize("cut", [_detached, _under_no_grad, _through_numpy])
def test_an_answer_cut_off_from_autograd_fails_though_its_values_are_right(name, cut):
    verdict = check(name, cut(SOLUTIONS[name]))
    assert not verdict and verdict.score == 0.0
    assert "In case 1 of" in verdict.message
    assert "has no gradient" in verdict.message and "Gradients must flow" in verdict.message


def test_a_partly_detached_autoregressive_logp_is_told_its_gradient_differs():
    def logp(context, action_model, actions):
        a1_logits, a2_logits = action_model(context, actions[:, :1].float())
        log_a1 = torch.log_softmax(a1_logits, 1).gather(1, actions[:, :1])[:, 0]
        log_a2 = torch.log_softmax(a2_logits, 1).gather(1, actions[:, 1:])[:, 0]
        return log_a1.detach() + log_a2  # P(a1)'s table gets no gradient

    _assert_fails(
        "autoregressive_logp",
        logp,
        [
            "the gradient with respect to action_model.parameters()[0] is missing",
            "cut off from autograd",
        ],
    )


def test_masked_logits_by_torch_where_passes_the_gradient_of_the_valid_actions():
    def where(logits, mask):
        return torch.where(mask > 0, logits, torch.tensor(F32_MIN))

    assert check("masked_logits", where)


# -- scores a grader collects ----------------------------------------------------------------
def test_a_half_right_answer_scores_the_cases_it_gets_right():
    def gae_without_terminations(rewards, values, terminated, gamma, lam):
        return SOLUTIONS["gae"](rewards, values, np.zeros_like(terminated), gamma, lam)

    verdict = check("gae", gae_without_terminations)
    assert not verdict
    # Only "one episode, no termination" and "a single step" have no terminated step.
    assert (verdict.passed_cases, verdict.total_cases) == (2, 5)
    assert verdict.score == pytest.approx(0.4) and verdict.points(10) == pytest.approx(4.0)
    assert verdict.message.endswith("Score 2/5 cases.")


# -- typical wrong answers, one exercise at a time --------------------------------------------
ONE_HOT_MISTAKES = [
    (lambda x, n: np.eye(n)[x], ["dtype differs", "float32", "float64", "dtype=np.float32"]),
    (
        lambda x, n: np.eye(n, dtype=np.float32)[:, x],
        ["shape differs", "[3, 4]", "[4, 3]", "axes are swapped", "one row per observation"],
    ),
    (
        lambda x, n: np.eye(n, dtype=np.float32)[np.asarray(x) - 1],
        ["value differs at index [0, 0] (row 0, column 0)", "values start at 0"],
    ),
    (lambda x, n: np.eye(n + 1, dtype=np.float32)[x], ["shape differs", "exactly n columns"]),
    (lambda x, n: torch.eye(n)[torch.as_tensor(x)], ["type differs", "numpy array"]),
]


@pytest.mark.parametrize("wrong, fragments", ONE_HOT_MISTAKES)
def test_one_hot_wrong_answers(wrong, fragments):
    _assert_fails("one_hot", wrong, fragments)


def _no_cross_term(count, mean, var, batch):
    total = count + len(batch)
    new_mean = mean + (batch.mean(0) - mean) * len(batch) / total
    return total, new_mean, (var * count + batch.var(0) * len(batch)) / total


def _one_mean_for_everything(count, mean, var, batch):
    n, total = len(batch), count + len(batch)
    delta = batch.mean() - mean  # batch.mean() without axis=0 averages every element
    m2 = var * count + batch.var() * n + delta**2 * count * n / total
    return total, mean + delta * n / total, m2 / total


RUNNING_MISTAKES = [
    # The spread between the old and new mean vanishes while count = 0: case 2 catches it.
    (_no_cross_term, ["In case 2 of 4", "var (item 2 of the result)", "delta**2"]),
    (
        lambda c, m, v, b: reference.running_mean_std(c, m, v, b)[1:],
        ["should be a tuple (count, mean, var)", "2 values"],
    ),
    (
        lambda c, m, v, b: (c, *reference.running_mean_std(c, m, v, b)[1:]),
        ["value differs: count (item 0 of the result) should be 4, you returned 0"],
    ),
    (_one_mean_for_everything, ["mean (item 1 of the result)", "batch axis only"]),
]


@pytest.mark.parametrize("wrong, fragments", RUNNING_MISTAKES)
def test_running_mean_std_wrong_answers(wrong, fragments):
    _assert_fails("running_mean_std", wrong, fragments)


LOGP_MISTAKES = [
    (
        lambda logits, a: torch.log_softmax(logits, dim=0).gather(1, a[:, None])[:, 0],
        ["value differs at index [0] (row 0)", "actions axis (dim=1)"],
    ),
    (lambda logits, a: logits.gather(1, a[:, None])[:, 0], ["unnormalised"]),
    (
        lambda logits, a: torch.log_softmax(logits, 1).gather(1, a[:, None]),
        ["shape differs", "[2]", "[2, 1]", "squeeze"],
    ),
    (
        lambda logits, a: torch.log(torch.softmax(logits, 1)).gather(1, a[:, None])[:, 0],
        ["In case 3 of 4 (large logits", "you returned -inf", "torch.log_softmax"],
    ),
    (
        lambda logits, a: torch.log_softmax(logits, 1)[:, a],
        ["shape differs", "should have shape [2], you returned shape [2, 2]"],
    ),
    (
        lambda logits, a: torch.log_softmax(logits.double(), 1).gather(1, a[:, None])[:, 0],
        ["dtype differs", "torch.float32", "torch.float64"],
    ),
]


@pytest.mark.parametrize("wrong, fragments", LOGP_MISTAKES)
def test_categorical_logp_wrong_answers(wrong, fragments):
    _assert_fails("categorical_logp", wrong, fragments)


ENTROPY_MISTAKES = [
    (lambda logits: -reference.categorical_entropy(logits) * -1 * -1, ["never negative"]),
    (
        lambda logits: -(torch.softmax(logits, 1) * torch.log(torch.softmax(logits, 1))).sum(1),
        ["In case 4 of 4 (a masked action", "you returned nan", "0 * -inf is nan"],
    ),
    (
        lambda logits: -(torch.softmax(logits, 1) * torch.log_softmax(logits, 1)).sum(0),
        ["shape differs", "should have shape [2], you returned shape [4]"],
    ),
]


@pytest.mark.parametrize("wrong, fragments", ENTROPY_MISTAKES)
def test_categorical_entropy_wrong_answers(wrong, fragments):
    _assert_fails("categorical_entropy", wrong, fragments)


MASK_MISTAKES = [
    (lambda logits, mask: logits * mask, ["index [0, 1] (row 0, action 1)", "multiplying"]),
    (
        lambda logits, mask: logits + torch.clamp(torch.log(1 - mask), min=F32_MIN),
        ["the mask is inverted", "VALID"],
    ),
    (
        lambda logits, mask: torch.where(mask > 0, torch.tensor(F32_MIN), logits),
        ["the mask is inverted"],
    ),
    (
        lambda logits, mask: logits + torch.log(mask),
        ["you returned -inf", "(float32 min)", "torch.clamp(torch.log(mask)"],
    ),
    (
        lambda logits, mask: torch.where(mask > 0, logits, torch.tensor(-1e9)),
        ["you returned -1e+09", "exactly float32 min"],
    ),
]


@pytest.mark.parametrize("wrong, fragments", MASK_MISTAKES)
def test_masked_logits_wrong_answers(wrong, fragments):
    _assert_fails("masked_logits", wrong, fragments)


def _gae_loop(
    baseline=True, offset=1, reset=True, forward=False, dtype=np.float32, base=0, use_lam=True
):
    def gae(rewards, values, terminated, gamma, lam):
        T = len(rewards)
        out = np.zeros(T, dtype=dtype)
        last = 0.0
        steps = range(T) if forward else reversed(range(T))
        for t in steps:
            alive = 0.0 if terminated[t] else 1.0
            delta = rewards[t] + gamma * values[t + offset] * alive - baseline * values[t + base]
            last = delta + gamma * (lam if use_lam else 1.0) * (alive if reset else 1.0) * last
            out[t] = last
        return out

    return gae


GAE_MISTAKES = [
    (_gae_loop(baseline=False), ["value differs at index [0] (t 0)", "baseline is missing"]),
    (_gae_loop(offset=0), ["off by one", "values[t + 1]"]),
    (_gae_loop(base=1), ["off by one", "the baseline V(s_t) is values[t]"]),
    (_gae_loop(offset=0, base=-1), ["off by one", "V(s_t) is values[t]"]),
    (_gae_loop(use_lam=False), ["lambda is missing"]),
    (_gae_loop(reset=False), ["In case 2 of 5 (the episode terminates", "new episode"]),
    (_gae_loop(forward=True), ["backwards in time"]),
    (_gae_loop(dtype=np.float64), ["dtype differs", "float32", "float64"]),
]


@pytest.mark.parametrize("wrong, fragments", GAE_MISTAKES)
def test_gae_wrong_answers(wrong, fragments):
    _assert_fails("gae", wrong, fragments)


def _surrogates(logp, old, adv, eps):
    ratio = torch.exp(logp - old)
    return ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv


PPO_MISTAKES = [
    (lambda *a: -torch.max(*_surrogates(*a)).mean(), ["In case 2 of 4", "minimum"]),
    (lambda *a: torch.min(*_surrogates(*a)).mean(), ["minus the mean surrogate"]),
    (
        lambda *a: -torch.min(*_surrogates(*a)),
        ["shape differs", "should have shape [], you returned shape [6]", "single number"],
    ),
    (lambda *a: -torch.min(*_surrogates(*a)).sum(), ["mean), not the sum"]),
    (lambda *a: reference.ppo_clip_loss(*a).item(), ["type differs", "torch.Tensor", "float"]),
    (lambda *a: reference.ppo_clip_loss(*a).detach(), ["no gradient", "backward"]),
    (
        lambda logp, old, adv, eps: (
            -torch.min(
                torch.exp(logp - old) * adv, (torch.exp(logp - old) * adv).clamp(1 - eps, 1 + eps)
            ).mean()
        ),
        ["clip the ratio, then multiply"],
    ),
    (
        lambda logp, old, adv, eps: (
            -torch.min(
                torch.exp(logp - old) * adv, torch.exp(logp - old) * adv.clamp(-eps, eps)
            ).mean()
        ),
        ["clip the probability ratio, not the advantages"],
    ),
]


@pytest.mark.parametrize("wrong, fragments", PPO_MISTAKES)
def test_ppo_clip_loss_wrong_answers(wrong, fragments):
    _assert_fails("ppo_clip_loss", wrong, fragments)


CHOP_MISTAKES = [
    (
        lambda ids, L: np.array([L] * (len(ids) // L) + [len(ids) % L] * bool(len(ids) % L)),
        ["shape differs", "should have shape [3], you returned shape [2]", "episode boundary"],
    ),
    (
        lambda ids, L: np.unique(ids, return_counts=True)[1],
        ["shape differs", "should have shape [3], you returned shape [2]", "at most max_seq_len"],
    ),
    (lambda ids, L: reference.chop_sequences(ids, max(1, L - 1)), ["off by one"]),
    (lambda ids, L: reference.chop_sequences(ids, L).astype(np.float32), ["dtype differs"]),
]


@pytest.mark.parametrize("wrong, fragments", CHOP_MISTAKES)
def test_chop_sequences_wrong_answers(wrong, fragments):
    _assert_fails("chop_sequences", wrong, fragments)


@pytest.mark.parametrize(
    "name, convert",
    [
        ("chop_sequences", lambda result: result.tolist()),
        ("gae", lambda result: list(result)),  # float32 scalars: right dtype, wrong container
        ("one_hot", lambda result: tuple(result)),
    ],
)
def test_a_python_list_or_tuple_for_an_array_fails_on_its_type(name, convert):
    verdict = check(name, lambda *args: convert(SOLUTIONS[name](*args)))
    assert not verdict and verdict.score == 0.0
    assert "type differs: the result should be a numpy array" in verdict.message
    assert "has no dtype or shape" in verdict.message


@pytest.mark.parametrize("name", ["ppo_clip_loss", "categorical_logp", "masked_logits"])
def test_a_gradient_only_failure_gets_the_gradient_message_and_no_value_hint(name):
    verdict = check(name, _under_no_grad(SOLUTIONS[name]))
    assert not verdict and "has no gradient" in verdict.message
    assert "Hint:" not in verdict.message


def test_a_nan_gradient_behind_finite_values_is_named_as_nan():
    def categorical_entropy(logits):
        p = torch.softmax(logits, dim=1)
        return -torch.nan_to_num(p * torch.log(p)).sum(dim=1)  # finite values, NaN gradient

    verdict = check("categorical_entropy", categorical_entropy)
    assert not verdict and "is NaN at index" in verdict.message
    assert "detached" not in verdict.message and "Hint:" not in verdict.message


def _sample_with(a2_input, a1_logits_from=None):
    def sample(context, action_model):
        B = context.shape[0]
        a1_logits, _ = action_model(context, torch.zeros(B, 1))
        if a1_logits_from is not None:
            a1_logits = a1_logits_from(a1_logits)
        a1 = torch.distributions.Categorical(logits=a1_logits).sample()
        _, a2_logits = action_model(context, a2_input(a1))
        a2 = torch.distributions.Categorical(logits=a2_logits).sample()
        return torch.stack([a1, a2], dim=1)

    return sample


SAMPLE_MISTAKES = [
    (
        _sample_with(lambda a1: torch.zeros(len(a1), 1)),
        ["do not follow P(a1) * P(a2 | a1)", "where context = 0", "does not depend on a1"],
    ),
    (
        _sample_with(lambda a1: a1.float()[:, None], a1_logits_from=torch.zeros_like),
        ["do not follow", "P(a1) itself is off"],
    ),
    (
        _sample_with(lambda a1: a1.float()),
        ["raised ValueError", "a1_vec of shape [B, 1]", "got shape [8000]"],
    ),
    (
        lambda c, m: reference.autoregressive_sample(c, m).T,
        ["shape differs", "[8000, 2]", "[2, 8000]", "axes are swapped"],
    ),
    (lambda c, m: reference.autoregressive_sample(c, m).float(), ["dtype differs", "int64"]),
    (lambda c, m: reference.autoregressive_sample(c, m) * 2, ["should be 0 or 1"]),
]


@pytest.mark.parametrize("wrong, fragments", SAMPLE_MISTAKES)
def test_autoregressive_sample_wrong_answers(wrong, fragments):
    _assert_fails("autoregressive_sample", wrong, fragments)


def _logp_parts(a2_from_zeros=False, a1_term=True, normalise=True):
    def logp(context, action_model, actions):
        a1, a2 = actions[:, 0], actions[:, 1]
        a1_vec = torch.zeros(len(a1), 1) if a2_from_zeros else a1.float()[:, None]
        a1_logits, a2_logits = action_model(context, a1_vec)
        if normalise:
            a1_logits, a2_logits = a1_logits.log_softmax(1), a2_logits.log_softmax(1)
        total = a2_logits.gather(1, a2[:, None])[:, 0]
        return total + a1_term * a1_logits.gather(1, a1[:, None])[:, 0]

    return logp


LOGP_AR_MISTAKES = [
    (_logp_parts(a2_from_zeros=True), ["value differs at index [2] (row 2)", "own a1"]),
    (_logp_parts(a1_term=False), ["add both terms"]),
    (_logp_parts(normalise=False), ["logits are unnormalised"]),
]


@pytest.mark.parametrize("wrong, fragments", LOGP_AR_MISTAKES)
def test_autoregressive_logp_wrong_answers(wrong, fragments):
    _assert_fails("autoregressive_logp", wrong, fragments)


def _assert_fails(name, wrong, fragments):
    verdict = CHECKS[name](wrong)
    assert not verdict, f"{name}: a wrong answer passed"
    assert verdict.message.startswith(f"✗ {name}: not yet. In case ")
    for fragment in fragments:
        assert fragment in verdict.message, f"{fragment!r} not in:\n{verdict.message}"


# -- the teachers' solutions are what rlkit itself computes -------------------------------------
def test_one_hot_reference_matches_the_one_hot_preprocessor():
    import gymnasium as gym

    from rlkit.preprocessors import OneHotPreprocessor

    x = np.array([0, 4, 2, 2])
    prep = OneHotPreprocessor(gym.spaces.Discrete(5))
    np.testing.assert_array_equal(reference.one_hot(x, 5), prep.transform_batch(x))


def test_running_mean_std_reference_matches_numpy_over_all_batches():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3, 2, (n, 4)) for n in (5, 1, 7)]
    count, mean, var = 0, np.zeros(4), np.zeros(4)
    for batch in batches:
        count, mean, var = reference.running_mean_std(count, mean, var, batch)
    everything = np.concatenate(batches)
    assert count == 13
    np.testing.assert_allclose(mean, everything.mean(0))
    np.testing.assert_allclose(var, everything.var(0))


def test_categorical_references_match_rlkit_categorical():
    from rlkit.distributions import Categorical

    logits = torch.tensor([[0.5, -1.0, 2.0], [0.0, F32_MIN, 1.0]])
    actions = torch.tensor([2, 0])
    dist = Categorical(logits)
    torch.testing.assert_close(reference.categorical_logp(logits, actions), dist.logp(actions))
    torch.testing.assert_close(reference.categorical_entropy(logits), dist.entropy())


def test_gae_reference_matches_rlkit_compute_gae():
    from rlkit.algorithms.onpolicy import compute_gae

    rng = np.random.default_rng(1)
    T = 7
    rewards = rng.normal(size=T).astype(np.float32)
    values = rng.normal(size=T + 1).astype(np.float32)
    terminated = np.zeros(T, dtype=bool)
    terminated[3] = True
    ours = reference.gae(rewards, values, terminated, 0.9, 0.8)
    theirs, _ = compute_gae(
        rewards[:, None],
        values[:-1, None],
        values[1:, None],
        terminated[:, None],
        np.zeros((T, 1), dtype=bool),
        0.9,
        0.8,
    )
    np.testing.assert_allclose(ours, theirs[:, 0], rtol=1e-6)


def test_chop_sequences_reference_matches_rlkit():
    from rlkit.models.sequences import sequence_lengths

    ids = np.array([3, 3, 3, 3, 3, 8, 2, 2, 2, 2])
    for max_seq_len in (1, 2, 3, 4, 20):
        np.testing.assert_array_equal(
            reference.chop_sequences(ids, max_seq_len), sequence_lengths(ids, max_seq_len)
        )


def test_toy_action_model_probabilities_are_what_it_says():
    model = ToyActionModel((0.3, 0.8), (0.1, 0.75))
    context = torch.tensor([[0.0], [1.0]])
    a1_logits, a2_logits = model(context, torch.tensor([[0.0], [1.0]]))
    torch.testing.assert_close(a1_logits.softmax(1)[:, 1], torch.tensor([0.3, 0.8]))
    torch.testing.assert_close(a2_logits.softmax(1)[:, 1], torch.tensor([0.1, 0.75]))
    assert model.calls == 1
    np.testing.assert_allclose(model.joint(1).sum(), 1.0)
    np.testing.assert_allclose(model.joint(0)[1, 1], 0.3 * 0.75)


# -- every exercise has its notebook, which calls the check -------------------------------------
@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_each_exercise_has_a_notebook_with_a_stub_and_the_check(name):
    path = ROOT / "notebooks" / "exercises" / EXERCISES[name].notebook
    assert path.exists(), f"{path} is missing"
    code = "\n".join(
        "".join(cell["source"])
        for cell in json.loads(path.read_text())["cells"]
        if cell["cell_type"] == "code"
    )
    assert f"def {name}(" in code and "NotImplementedError" in code
    assert f"check_{name}({name})" in code


# -- the capstone: the solutions assembled into PPO, trained next to rlkit's --------------------
CAPSTONE = ROOT / "notebooks" / "exercises" / "capstone_ppo.ipynb"


def test_capstone_lists_a_stub_for_every_piece_it_assembles():
    cells = json.loads(CAPSTONE.read_text())["cells"]
    [functions] = [c for c in cells if "".join(c["source"]).startswith("# YOUR FUNCTIONS")]
    code = "".join(functions["source"])
    for name in set(EXERCISES) - {"autoregressive_sample", "autoregressive_logp"}:
        assert f"def {name}(" in code, name


@pytest.mark.notebook
def test_capstone_trains_cartpole_with_the_solutions_exactly_as_rlkits_ppo(monkeypatch):
    import re

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(CAPSTONE, as_version=4)
    [cell] = [c for c in nb.cells if c.source.startswith("# YOUR FUNCTIONS")]
    cell.source = (
        f"import sys\nsys.path.insert(0, {str(ROOT / 'solutions')!r})\n"
        "from exercise_solutions import *"
    )
    for key, value in {"RLKIT_FAST": "1", "MPLBACKEND": "agg", "PYTHONPATH": str(ROOT)}.items():
        monkeypatch.setenv(key, value)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(CAPSTONE.parent)}},
    )
    client.execute()
    text = "".join(
        output.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for output in c.outputs
        if output.get("output_type") == "stream"
    )
    assert "every piece passes" in text
    # The first iterations are the same run, number for number (rounding drifts them apart later).
    first, total = map(
        int, re.search(r"identical returns in the first (\d+) of (\d+)", text).groups()
    )
    assert first == total >= 3, text
    calls = eval(re.search(r"calls to your functions: (\{.*\})", text).group(1))
    pieces = ("running_mean_std", "masked_logits", "categorical_logp", "categorical_entropy")
    for name in (*pieces, "gae", "ppo_clip_loss"):
        assert calls.get(name, 0) > 0, f"the capstone's PPO never called {name}: {calls}"
    gap = float(re.search(r"policy-loss difference in the first iteration: (\S+)", text).group(1))
    assert gap < 1e-5
    returns = [float(x) for x in re.findall(r"yours +(\d+\.\d)", text)]
    assert len(returns) >= 3 and returns[-1] > returns[0] + 3  # it learns, as rlkit's PPO does
    swaps = dict(re.findall(r"^(\S.*?) +return after \d+ steps: +(\S+)$", text, flags=re.M))
    assert swaps["distribution: rlkit's Categorical"] == swaps["yours"]
    assert len(set(swaps.values())) > 1  # the other swaps do change the run
    assert "your one-hot rows equal OneHotPreprocessor's: True" in text
    assert "identical to rlkit's: True" in text
