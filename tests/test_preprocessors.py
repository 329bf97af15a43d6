"""Tests for rlkit.spaces and rlkit.preprocessors: closed-form outputs, batch == single, errors."""

import copy
import pickle
from collections import OrderedDict

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Sequence, Text, Tuple
from gymnasium.vector.utils import batch_space

from rlkit.preprocessors import (
    DictFlatteningPreprocessor,
    ImagePreprocessor,
    NoPreprocessor,
    OneHotPreprocessor,
    Preprocessor,
    TupleFlatteningPreprocessor,
    get_preprocessor,
    restore_original_dimensions,
)
from rlkit.spaces import (
    build_nested,
    get_at,
    is_image_space,
    leaf_paths,
    one_hot,
    path_str,
)


def make(space, options=None):
    return get_preprocessor(space)(space, options)


# ---------------------------------------------------------------- spaces.py


def test_leaf_paths_canonical_order():
    space = Dict({"b": Tuple((Discrete(2), Box(0, 1, (3,)))), "a": Discrete(3)})
    paths = [path for path, _ in leaf_paths(space)]
    assert paths == [("a",), ("b", 0), ("b", 1)]
    assert [type(s).__name__ for _, s in leaf_paths(space)] == ["Discrete", "Discrete", "Box"]
    box = Box(0, 1, (2,))
    assert leaf_paths(box) == [((), box)]


def test_path_str():
    assert path_str(()) == "obs"
    assert path_str(("image",)) == "obs['image']"
    assert path_str((0, "a")) == "obs[0]['a']"


def test_get_at_and_build_nested_round_trip():
    space = Dict(
        {"b": Tuple((Discrete(2), Dict({"y": Discrete(3), "x": Discrete(4)}))), "a": Discrete(5)}
    )
    obs = {"a": 4, "b": (1, {"x": 3, "y": 2})}
    leaves = [get_at(obs, path) for path, _ in leaf_paths(space)]
    assert leaves == [4, 1, 3, 2]
    rebuilt = build_nested(space, leaves)
    assert rebuilt == obs and isinstance(rebuilt["b"], tuple)
    assert build_nested(Discrete(3), [2]) == 2
    with pytest.raises(ValueError, match="3 leaves"):
        build_nested(space, [1, 2, 3])


def test_is_image_space_by_rank_and_dtype():
    assert is_image_space(Box(0, 255, (210, 160, 3), np.uint8))
    assert is_image_space(Box(0, 255, (4, 84, 84), np.uint8))  # rank and dtype, not sizes
    assert not is_image_space(Box(0, 1, (84, 84, 3), np.float32))
    assert not is_image_space(Box(0, 255, (84, 84), np.uint8))
    assert not is_image_space(Discrete(3))


def test_one_hot_scalar_and_array():
    np.testing.assert_array_equal(one_hot(2, 4), [0, 0, 1, 0])
    out = one_hot(np.array([[0, 3], [1, 1]]), 4)
    assert out.shape == (2, 2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 1], [0, 0, 0, 1])
    np.testing.assert_array_equal(out.sum(-1), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        one_hot(-1, 4)


# ---------------------------------------------------------------- dispatch


@pytest.mark.parametrize(
    "space, cls",
    [
        (Box(-1, 1, (4,)), NoPreprocessor),
        (Box(0, 1, (84, 84, 3), np.float32), NoPreprocessor),
        (Box(0, 255, (210, 160, 3), np.uint8), ImagePreprocessor),
        (Discrete(5), OneHotPreprocessor),
        (MultiDiscrete([2, 3]), OneHotPreprocessor),
        (MultiBinary(4), OneHotPreprocessor),
        (Tuple((Discrete(2), Box(0, 1, (2,)))), TupleFlatteningPreprocessor),
        (Dict({"a": Discrete(2)}), DictFlatteningPreprocessor),
    ],
)
def test_get_preprocessor_dispatch(space, cls):
    assert get_preprocessor(space) is cls


def test_get_preprocessor_rejects_non_space():
    with pytest.raises(TypeError, match="gymnasium space"):
        get_preprocessor((4,))


# ---------------------------------------------------------------- closed forms


def test_discrete_one_hot_with_start():
    prep = make(Discrete(5))
    assert prep.shape == (5,) and prep.size == 5
    np.testing.assert_array_equal(prep.transform(3), [0, 0, 0, 1, 0])
    shifted = make(Discrete(3, start=-1))
    np.testing.assert_array_equal(shifted.transform(-1), [1, 0, 0])
    np.testing.assert_array_equal(shifted.transform_batch(np.array([1, 0])), [[0, 0, 1], [0, 1, 0]])


def test_multidiscrete_and_multibinary():
    prep = make(MultiDiscrete([2, 3, 4]))
    assert prep.shape == (9,)
    np.testing.assert_array_equal(prep.transform(np.array([1, 2, 0])), [0, 1, 0, 0, 1, 1, 0, 0, 0])
    started = make(MultiDiscrete([2, 2], start=[5, -1]))
    np.testing.assert_array_equal(started.transform(np.array([6, -1])), [0, 1, 1, 0])
    binary = make(MultiBinary(3))
    out = binary.transform(np.array([1, 0, 1], dtype=np.int8))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1, 0, 1])


def test_box_unchanged_as_float32():
    prep = make(Box(-10, 10, (2, 3), np.float64))
    x = np.arange(6.0).reshape(2, 3) - 2.5
    out = prep.transform(x)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, x.astype(np.float32))
    np.testing.assert_array_equal(prep.observation_space.low, np.full((2, 3), -10, np.float32))


def test_tuple_discrete_box_gives_eight_values():
    prep = make(Tuple((Discrete(5), Box(0, 1, (3,)))))
    assert prep.shape == (8,)
    out = prep.transform((2, np.array([0.1, 0.2, 0.3], np.float32)))
    np.testing.assert_allclose(out, [0, 0, 1, 0, 0, 0.1, 0.2, 0.3], rtol=1e-7)


def test_ordered_dict_space_still_flattens_sorted():
    space = Dict(OrderedDict([("z", Discrete(2)), ("a", Discrete(3))]))
    assert list(space.spaces) == ["z", "a"]  # gymnasium keeps an OrderedDict's order
    assert [path for path, _ in leaf_paths(space)] == [("a",), ("z",)]
    np.testing.assert_array_equal(make(space).transform({"z": 1, "a": 0}), [1, 0, 0, 0, 1])


def test_dict_flattens_in_sorted_key_order():
    space = Dict(
        {
            "z": Discrete(2),
            "a": Box(-1, 1, (2,)),
            "m": Dict({"y": Discrete(3), "b": MultiBinary(1)}),
        }
    )
    obs = {"z": 1, "a": np.array([0.5, -0.5]), "m": {"y": 2, "b": np.array([1])}}
    # sorted: a (2) | m.b (1) | m.y (3) | z (2)
    expected = [0.5, -0.5, 1, 0, 0, 1, 0, 1]
    np.testing.assert_array_equal(make(space).transform(obs), expected)


# ---------------------------------------------------------------- batch == stacked singles

BATCH_SPACES = {
    "box": Box(-2, 2, (3, 2)),
    "discrete": Discrete(6, start=2),
    "multidiscrete": MultiDiscrete([3, 2, 5]),
    "multibinary": MultiBinary(4),
    "small_image": Box(0, 255, (7, 7, 3), np.uint8),
    "big_image": Box(0, 255, (100, 90, 3), np.uint8),
    "tuple": Tuple((Discrete(3), Box(-1, 1, (2,)), MultiDiscrete([2, 2]))),
    "dict_of_dict": Dict(
        {
            "pos": Box(-1, 1, (2,)),
            "inner": Dict({"k": Discrete(4), "img": Box(0, 255, (5, 5, 1), np.uint8)}),
            "t": Tuple((MultiBinary(2), Dict({"d": Discrete(2)}))),
        }
    ),
}


@pytest.mark.parametrize("name", list(BATCH_SPACES))
@pytest.mark.parametrize("options", [None, {"dim": 32, "grayscale": False, "zero_mean": False}])
def test_batch_equals_stacked_singles(name, options):
    space = BATCH_SPACES[name]
    prep = make(space, options)
    batched_space = batch_space(space, 5)  # gymnasium vector-env layout
    batched_space.seed(0)
    batch = batched_space.sample()
    out = prep.transform_batch(batch)
    assert out.shape == (5, *prep.shape) and out.dtype == np.float32
    for i in range(5):
        single = build_nested(space, [get_at(batch, p)[i] for p, _ in leaf_paths(space)])
        np.testing.assert_allclose(out[i], prep.transform(single), rtol=0, atol=1e-6)
        assert prep.observation_space.contains(out[i])


# ---------------------------------------------------------------- images


PONG = Box(0, 255, (210, 160, 3), np.uint8)


def test_pong_frames_resize_to_dim():
    frames = np.random.default_rng(0).integers(0, 256, (2, 210, 160, 3), dtype=np.uint8)
    out = make(PONG).transform_batch(frames)
    assert out.shape == (2, 84, 84, 3)
    assert out.min() >= -1.0 and out.max() <= 127 / 128
    gray = make(PONG, {"grayscale": True})
    assert gray.shape == (84, 84, 1) and gray.transform(frames[0]).shape == (84, 84, 1)


def test_zero_mean_ranges_closed_form():
    black, white = np.zeros((210, 160, 3), np.uint8), np.full((210, 160, 3), 255, np.uint8)
    centred = make(PONG)
    np.testing.assert_allclose(centred.transform(black), -1.0)
    np.testing.assert_allclose(centred.transform(white), 127 / 128, rtol=1e-6)
    unit = make(PONG, {"zero_mean": False})
    np.testing.assert_allclose(unit.transform(black), 0.0)
    np.testing.assert_allclose(unit.transform(white), 1.0, rtol=1e-6)
    assert unit.observation_space.low.min() == 0.0 and unit.observation_space.high.max() == 1.0


def test_downscale_is_block_average_and_grayscale_uses_luminance():
    frame = np.random.default_rng(1).integers(0, 256, (252, 252, 3), dtype=np.uint8)
    space = Box(0, 255, frame.shape, np.uint8)
    out = make(space, {"zero_mean": False}).transform(frame)
    # 252 -> 84 shrinks each side 3x: every output pixel is the mean of a 3x3 block.
    blocks = frame.astype(np.float64).reshape(84, 3, 84, 3, 3).mean(axis=(1, 3)) / 255
    np.testing.assert_allclose(out, blocks, atol=1e-5)
    flat = np.empty((252, 252, 3), np.uint8)
    flat[...] = (10, 20, 30)
    gray = make(space, {"zero_mean": False, "grayscale": True}).transform(flat)
    np.testing.assert_allclose(gray, (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255, rtol=1e-5)


def test_small_image_keeps_its_size():
    grid = np.random.default_rng(2).integers(0, 11, (7, 7, 3), dtype=np.uint8)
    prep = make(Box(0, 255, (7, 7, 3), np.uint8))
    assert prep.shape == (7, 7, 3)
    np.testing.assert_allclose(prep.transform(grid), (grid - 128.0) / 128.0, rtol=1e-6)


def test_framestack_points_to_the_wrapper():
    with pytest.raises(ValueError, match="FrameStackObservation"):
        make(PONG, {"framestack": 4})


def test_grayscale_needs_rgb():
    with pytest.raises(ValueError, match="channels"):
        make(Box(0, 255, (10, 10, 4), np.uint8), {"grayscale": True})


# ---------------------------------------------------------------- unsupported spaces


def _mission_space():
    from minigrid.core.mission import MissionSpace

    return MissionSpace(mission_func=lambda: "get to the green goal square")


@pytest.mark.parametrize("mission", [Text(20), "minigrid"])
def test_minigrid_mission_is_rejected_at_build_time(mission):
    mission = _mission_space() if mission == "minigrid" else mission
    space = Dict(
        {"direction": Discrete(4), "image": Box(0, 255, (7, 7, 3), np.uint8), "mission": mission}
    )
    for build in (get_preprocessor, lambda s: DictFlatteningPreprocessor(s)):
        with pytest.raises(ValueError) as info:
            build(space)
        message = str(info.value)
        assert "obs['mission']" in message and "FilterObservation" in message
        assert "['direction', 'image']" in message and "custom preprocessor" in message


def test_unsupported_leaf_deep_inside_is_named():
    space = Tuple((Discrete(2), Dict({"x": Sequence(Discrete(2))})))
    with pytest.raises(ValueError, match=r"obs\[1\]\['x'\]"):
        make(space)
    with pytest.raises(ValueError, match="^obs is Text"):
        get_preprocessor(Text(5))


# ---------------------------------------------------------------- invalid observations

NESTED = Dict({"a": Dict({"b": Discrete(3), "c": Box(-1, 1, (2, 2))}), "z": MultiBinary(3)})
GOOD = {"a": {"b": 1, "c": np.zeros((2, 2), np.float32)}, "z": np.array([0, 1, 0])}


@pytest.mark.parametrize(
    "bad, pattern",
    [
        (
            {"a": {"b": 3, "c": GOOD["a"]["c"]}, "z": GOOD["z"]},
            r"obs\['a'\]\['b'\] holds 3.*Discrete\(3\)",
        ),
        (
            {"a": {"b": 1, "c": np.zeros((2, 3))}, "z": GOOD["z"]},
            r"obs\['a'\]\['c'\].*\(2, 2\).*\(2, 3\)",
        ),
        ({"a": GOOD["a"]}, r"obs should have exactly the keys \['a', 'z'\]; missing \['z'\]"),
        ({**GOOD, "extra": 1}, r"unexpected \['extra'\]"),
        (
            {"a": {"b": 1.0, "c": GOOD["a"]["c"]}, "z": GOOD["z"]},
            r"obs\['a'\]\['b'\] should hold integers",
        ),
        ({"a": GOOD["a"], "z": np.array([0, 2, 0])}, r"obs\['z'\] holds 2"),
        ({"a": (1, GOOD["a"]["c"]), "z": GOOD["z"]}, r"obs\['a'\] should be a dict"),
    ],
)
def test_invalid_single_observation_names_the_path(bad, pattern):
    prep = make(NESTED)
    prep.transform(GOOD)  # the valid one passes
    with pytest.raises(ValueError, match=pattern):
        prep.transform(bad)


def test_invalid_batch_is_caught_vectorised():
    prep = make(NESTED)
    batch = {"a": {"b": np.array([0, 2, 5]), "c": np.zeros((3, 2, 2))}, "z": np.zeros((3, 3), int)}
    with pytest.raises(ValueError, match=r"obs\['a'\]\['b'\] holds 5.*batch row 2"):
        prep.transform_batch(batch)
    batch["a"]["b"] = np.array([0, 1])
    with pytest.raises(ValueError, match="same B"):
        prep.transform_batch(batch)
    with pytest.raises(ValueError, match=r"batch of shape \[B, 4\]"):
        make(Box(-1, 1, (4,))).transform_batch(np.zeros(4))
    with pytest.raises(ValueError, match="should hold integers"):
        make(Discrete(3)).transform_batch(np.array([0.0, 1.0]))


# ---------------------------------------------------------------- observation_space / restore


def test_observation_space_survives_copy_and_pickle():
    prep = make(NESTED)
    space = prep.observation_space
    assert space.dtype == np.float32 and space.shape == (10,) and space.original_space == NESTED
    for clone in (copy.deepcopy(space), pickle.loads(pickle.dumps(space))):
        assert clone.original_space == NESTED and clone.leaf_shapes == space.leaf_shapes
    assert make(Discrete(4)).observation_space.original_space == Discrete(4)
    clone = pickle.loads(pickle.dumps(prep))
    np.testing.assert_array_equal(clone.transform(GOOD), prep.transform(GOOD))


def test_restore_original_dimensions_inverts_flattening():
    space = Dict(
        {
            "pos": Box(-1, 1, (2, 3)),
            "k": Discrete(4),
            "t": Tuple((MultiDiscrete([2, 3]), Box(0, 255, (100, 100, 3), np.uint8))),
        }
    )
    prep = make(space)
    sampler = batch_space(space, 3)
    sampler.seed(0)
    batch = sampler.sample()
    flat = torch.from_numpy(prep.transform_batch(batch))  # [3, size]
    restored = restore_original_dimensions(flat, prep.observation_space)
    assert set(restored) == {"k", "pos", "t"} and isinstance(restored["t"], tuple)
    np.testing.assert_allclose(restored["pos"].numpy(), batch["pos"], rtol=1e-6)
    np.testing.assert_array_equal(restored["k"].numpy(), np.eye(4)[batch["k"]])
    assert restored["t"][0].shape == (3, 5)
    image = restored["t"][1]
    assert image.shape == (3, 84, 84, 3)  # the preprocessed shape, not the raw (100, 100, 3)
    expected = make(space["t"][1]).transform_batch(batch["t"][1])
    np.testing.assert_allclose(image.numpy(), expected, rtol=1e-6)
    assert image.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()  # a view


def test_restore_non_nested_and_empty_batch():
    prep = make(Box(0, 255, (100, 100, 3), np.uint8))
    out = restore_original_dimensions(torch.zeros(2, prep.size), prep.observation_space)
    assert out.shape == (2, 84, 84, 3)
    nested = make(NESTED)
    empty = restore_original_dimensions(torch.zeros(0, nested.size), nested.observation_space)
    assert empty["a"]["c"].shape == (0, 2, 2) and empty["z"].shape == (0, 3)
    with pytest.raises(ValueError, match="pass the preprocessed batch"):
        restore_original_dimensions(torch.zeros(2, 7), nested.observation_space)


# ---------------------------------------------------------------- custom preprocessors


class SumPreprocessor(Preprocessor):
    """The seed document's pattern: only _init_shape and transform."""

    def _init_shape(self, obs_space, options):
        return (2,)

    def transform(self, observation):
        return np.array([np.sum(observation["x"]), observation["n"]], dtype=np.float32)


def test_custom_preprocessor_gets_a_batch_loop():
    space = Dict({"x": Box(-1, 1, (3,)), "n": Discrete(5)})
    prep = SumPreprocessor(space, {"dim": 42})
    assert prep._options["dim"] == 42 and prep._options["grayscale"] is False
    batch = {"x": np.arange(6.0).reshape(2, 3), "n": np.array([4, 1])}
    np.testing.assert_array_equal(prep.transform_batch(batch), [[3, 4], [12, 1]])
    assert prep.observation_space.original_space is space
    # Without a flattening layout, restoring only reshapes: the custom output is not nested.
    out = restore_original_dimensions(torch.ones(2, 2), prep.observation_space)
    assert out.shape == (2, 2)


def test_custom_preprocessor_shape_mismatch_is_reported():
    class Wrong(SumPreprocessor):
        def _init_shape(self, obs_space, options):
            return (3,)

    prep = Wrong(Dict({"x": Box(-1, 1, (3,)), "n": Discrete(5)}))
    with pytest.raises(ValueError, match=r"returned shape \(2,\) but _init_shape declared \(3,\)"):
        prep.transform_batch({"x": np.zeros((1, 3)), "n": np.array([0])})


def test_gym_env_observation_round_trip():
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=0)
    prep = make(env.observation_space)
    np.testing.assert_array_equal(prep.transform(obs), obs)
    env.close()


def test_subclass_of_a_builtin_that_redefines_transform_is_used_for_batches():
    class Doubled(OneHotPreprocessor):
        def transform(self, observation):
            return 2 * super().transform(observation)

    prep = Doubled(Discrete(3))
    np.testing.assert_array_equal(prep.transform_batch(np.array([0, 2])), [[2, 0, 0], [0, 0, 2]])
