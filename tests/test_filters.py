"""Tests for rlkit.filters: running statistics against numpy, exact merges, state round trips."""

import io

import numpy as np
import pytest
import torch

from rlkit.filters import MeanStdFilter, NoFilter, RunningStat, get_filter


def data(n, shape=(3,), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(loc=[2.0, -1.0, 0.5], scale=[0.5, 3.0, 1.0], size=(n, *shape))


# ---------------------------------------------------------------- RunningStat


def test_running_stat_matches_numpy():
    xs = data(200)
    rs = RunningStat((3,))
    for x in xs:
        rs.push(x)
    assert rs.n == 200
    np.testing.assert_allclose(rs.mean, xs.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(rs.var, xs.var(axis=0, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(rs.std, xs.std(axis=0, ddof=1), rtol=1e-10)


def test_push_batch_equals_repeated_push():
    xs = data(57)
    one_by_one, batched = RunningStat((3,)), RunningStat((3,))
    for x in xs:
        one_by_one.push(x)
    batched.push_batch(xs[:20])
    batched.push_batch(xs[20:21])
    batched.push_batch(xs[21:21])  # an empty batch changes nothing
    batched.push_batch(xs[21:])
    assert batched.n == one_by_one.n == 57
    np.testing.assert_allclose(batched.mean, one_by_one.mean, rtol=1e-12)
    np.testing.assert_allclose(batched.var, one_by_one.var, rtol=1e-10)


def test_two_streams_merged_equal_one_stream():
    xs = data(300)
    whole, a, b = RunningStat((3,)), RunningStat((3,)), RunningStat((3,))
    whole.push_batch(xs)
    a.push_batch(xs[:37])
    b.push_batch(xs[37:])
    a.merge(b)
    assert a.n == 300 and b.n == 263  # other is left unchanged
    np.testing.assert_allclose(a.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(a.var, whole.var, rtol=1e-10)
    empty = RunningStat((3,))
    empty.merge(whole)
    np.testing.assert_allclose(empty.var, whole.var, rtol=1e-12)


def test_variance_is_zero_below_two_samples_and_scalars_work():
    rs = RunningStat(())
    np.testing.assert_array_equal(rs.var, 0.0)
    rs.push(5.0)
    assert rs.n == 1 and rs.mean == 5.0 and rs.var == 0.0
    rs.push(7.0)
    assert rs.mean == 6.0 and rs.var == pytest.approx(2.0)


def test_running_stat_state_copy_and_shape_errors():
    rs = RunningStat((3,))
    rs.push_batch(data(10))
    clone = rs.copy()
    clone.push(np.zeros(3))
    assert rs.n == 10 and clone.n == 11
    restored = RunningStat((3,))
    restored.set_state(rs.get_state())
    np.testing.assert_array_equal(restored.var, rs.var)
    with pytest.raises(ValueError, match=r"expects shape \(3,\), got \(4,\)"):
        rs.push(np.zeros(4))
    with pytest.raises(ValueError, match="cannot merge"):
        rs.merge(RunningStat((2,)))
    with pytest.raises(ValueError, match="state has shape"):
        RunningStat((2,)).set_state(rs.get_state())


# ---------------------------------------------------------------- MeanStdFilter


def test_mean_std_filter_normalises_like_numpy():
    xs = data(100)
    f = MeanStdFilter((3,), clip=None)
    out = f(xs)
    assert out.dtype == np.float32 and out.shape == (100, 3)
    expected = (xs - xs.mean(axis=0)) / (xs.std(axis=0, ddof=1) + 1e-8)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f.rs.std, xs.std(axis=0, ddof=1), rtol=1e-10)


def test_clip_demean_destd():
    xs = data(100)
    f = MeanStdFilter((3,))
    f(xs)
    far = f.rs.mean + 50 * f.rs.std
    np.testing.assert_allclose(f(far, update=False), [10.0, 10.0, 10.0])
    np.testing.assert_allclose(MeanStdFilter((3,), clip=2.0)(xs).max(), 2.0)
    only_std = MeanStdFilter((3,), demean=False, clip=None)
    np.testing.assert_allclose(only_std(xs), xs / (xs.std(0, ddof=1) + 1e-8), rtol=1e-5)
    only_mean = MeanStdFilter((3,), destd=False, clip=None)
    np.testing.assert_allclose(only_mean(xs), xs - xs.mean(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="clip"):
        MeanStdFilter((3,), clip=0)


def test_single_observation_and_batch_layouts():
    f = MeanStdFilter((3,))
    first = f(np.array([1.0, 2.0, 3.0]))  # one obs: n = 1, the mean is the obs itself
    assert first.shape == (3,)
    np.testing.assert_array_equal(first, [0.0, 0.0, 0.0])
    assert f.rs.n == 1 and f(data(4)).shape == (4, 3) and f.rs.n == 5
    with pytest.raises(ValueError, match=r"shape \(3,\) got an array of shape \(2, 4\)"):
        f(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros((2, 2, 3)))


def test_fewer_than_two_samples_only_demeans():
    # The spread is unknown before two samples, so nothing is divided by a zero std.
    f = MeanStdFilter((2,))
    np.testing.assert_array_equal(f(np.array([3.0, -4.0]), update=False), [3.0, -4.0])


def test_update_false_leaves_stats_unchanged():
    f = MeanStdFilter((3,))
    f(data(50))
    before = f.get_state()
    f(data(20, seed=1), update=False)
    f(data(1, seed=2)[0], update=False)
    assert f.get_state() == before


def test_apply_changes_merges_sampler_buffers():
    prior, xs, ys = data(30), data(40, seed=1), data(60, seed=2)
    central = MeanStdFilter((3,))
    central(prior)
    central.clear_buffer()
    # Each sampler starts from the central statistics; only what it sees afterwards is new.
    worker_a, worker_b = central.copy(), central.copy()
    worker_a(xs)
    worker_b(ys)
    central.apply_changes(worker_a)
    central.apply_changes(worker_b)
    seen = np.concatenate([prior, xs, ys])
    assert central.rs.n == 130
    np.testing.assert_allclose(central.rs.mean, seen.mean(0), rtol=1e-12)
    np.testing.assert_allclose(central.rs.var, seen.var(0, ddof=1), rtol=1e-10)
    assert central.buffer.n == 0 and worker_a.buffer.n == 40
    worker_a.clear_buffer()
    assert worker_a.buffer.n == 0 and worker_a.rs.n == 70
    with pytest.raises(TypeError, match="MeanStdFilter"):
        central.apply_changes(NoFilter((3,)))


def test_state_round_trip_through_torch_weights_only():
    f = MeanStdFilter((2, 3), clip=5.0)
    f(np.random.default_rng(0).normal(size=(30, 2, 3)))
    buffer = io.BytesIO()
    torch.save({"filter": f.get_state()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["filter"]
    g = MeanStdFilter((2, 3))
    g.set_state(state)
    assert g.clip == 5.0 and g.rs.n == 30 and g.buffer.n == 30
    x = np.random.default_rng(1).normal(size=(4, 2, 3))
    np.testing.assert_array_equal(g(x, update=False), f(x, update=False))
    with pytest.raises(ValueError, match="cannot load"):
        MeanStdFilter((3,)).set_state(state)


def test_copy_is_independent_and_reset_forgets():
    f = MeanStdFilter((3,))
    f(data(10))
    g = f.copy()
    g(data(10, seed=3))
    assert f.rs.n == 10 and g.rs.n == 20
    f.reset()
    assert f.rs.n == 0 and f.buffer.n == 0


# ---------------------------------------------------------------- NoFilter / get_filter


def test_no_filter_is_identity_in_float32():
    f = NoFilter((2,))
    x = np.array([[1, 2], [3, 4]], dtype=np.int64)
    out = f(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(f(np.array([0.5, 1.5])), [0.5, 1.5])
    g = NoFilter((2,))
    g.set_state(f.get_state())
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros(3))


def test_get_filter_by_name():
    assert isinstance(get_filter("NoFilter", (4,)), NoFilter)
    f = get_filter("MeanStdFilter", (4,))
    assert isinstance(f, MeanStdFilter) and f.shape == (4,) and f.clip == 10.0
    with pytest.raises(ValueError, match="did you mean 'MeanStdFilter'"):
        get_filter("MeanStdFiltre", (4,))


def test_rllib_names_filter_manager_round():
    """RLlib's FilterManager round with RLlib's method names: each sampler's delta is merged at
    the learner, the learner's statistics are synced back, and the result equals one stream."""
    xs = [data(40, seed=s) for s in range(3)]
    learner = MeanStdFilter((3,))
    samplers = [MeanStdFilter((3,)) for _ in range(2)]
    for rnd in range(2):  # two iterations: sync out, sample, merge deltas in
        for f in samplers:
            f.sync(learner)
            assert f.rs.n == learner.rs.n and f.buffer.n == 0
        for i, f in enumerate(samplers):
            f(xs[i][rnd * 20 : (rnd + 1) * 20])
        for f in samplers:
            delta = f.copy()
            f.clear_buffer()
            assert f.buffer.n == 0 and delta.buffer.n == 20
            learner.apply_changes(delta, with_buffer=False)
    everything = np.concatenate([xs[0], xs[1]])
    assert learner.rs.n == 80 and learner.buffer.n == 0
    np.testing.assert_allclose(learner.rs.mean, everything.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(learner.rs.var, everything.var(axis=0, ddof=1), rtol=1e-10)
    # RunningStat.update is RLlib's merge.
    a, b = RunningStat((3,)), RunningStat((3,))
    a.push_batch(xs[2][:10])
    b.push_batch(xs[2][10:])
    a.update(b)
    np.testing.assert_allclose(a.mean, xs[2].mean(axis=0), rtol=1e-12)
    with pytest.raises(TypeError, match="RunningStat"):
        a.update(xs[2])
    with pytest.raises(ValueError, match="shape"):
        MeanStdFilter((2,)).sync(learner)
    NoFilter((3,)).sync(NoFilter((3,)))  # nothing to copy, shapes agree
    with pytest.raises(ValueError, match="shape"):
        NoFilter((2,)).sync(NoFilter((3,)))
