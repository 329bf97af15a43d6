"""Image frames stay uint8 from the env to the model's input, and train bit for bit the same.

With the built-in ImagePreprocessor doing nothing but scaling (DeepMind-preprocessed Atari
frames, any small uint8 image) and no filter, rlkit keeps the frames as uint8 in sampled
batches, DQN's replay buffer and offline data, and the model scales each minibatch as it reads
it (rlkit.preprocessors.ByteScale). The reference below is the same pipeline scaling up front:
a trivial subclass of ImagePreprocessor, which rlkit never defers (a subclass may compute
something else), so its batches are float32.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit import ModelCatalog
from rlkit.algorithms import A2C, BC, DQN, PPO
from rlkit.algorithms.dqn import ReplayBuffer
from rlkit.offline import JsonReader
from rlkit.policy import Policy
from rlkit.preprocessors import ByteScale, ImagePreprocessor

SHAPE = (10, 10, 2)
FRAMES = gym.spaces.Box(0, 255, SHAPE, np.uint8)


class Frames(gym.Env):
    """10x10x2 uint8 noise frames; reward 1 when the action says whether the mean is > 127.5."""

    observation_space = FRAMES
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.obs = self.np_random.integers(0, 256, SHAPE, dtype=np.uint8)
        return self.obs, {}

    def step(self, action):
        reward = float(int(action) == int(self.obs.mean() > 127.5))
        self.t += 1
        self.obs = self.np_random.integers(0, 256, SHAPE, dtype=np.uint8)
        return self.obs, reward, False, self.t >= 20, {}


class ScaledUpFront(ImagePreprocessor):
    """The built-in's arithmetic, but a subclass: its batches are float32 (the reference)."""


ModelCatalog.register_custom_preprocessor("scaled_up_front", ScaledUpFront)
MODEL = {"conv_filters": [[4, [3, 3], 2], [8, [5, 5], 1]], "fcnet_hiddens": [16]}
ON_POLICY = {"num_envs": 2, "rollout_fragment_length": 16, "seed": 3}
FAST_DQN = {
    "num_envs": 2,
    "seed": 3,
    "min_sample_timesteps_per_iteration": 0,
    "learning_starts": 16,
    "train_batch_size": 8,
}


def same(a, b):
    return a == b or (np.isnan(a) and np.isnan(b))


def assert_same_weights(a, b):
    """Every parameter and buffer of trainer a's model equals b's, bit for bit."""
    theirs = b.model.state_dict()
    for name, p in a.model.state_dict().items():
        assert torch.equal(p, theirs[name]), name


@contextmanager
def stopped_after(*built):
    """The trainers, stopped when the block ends (also after a failed assertion)."""
    try:
        yield built
    finally:
        for trainer in built:
            trainer.stop()


def trainers(cls, config, zero_mean, **model_keys):
    """(frames kept as uint8, scaled up front) for the same config and seed."""
    model = {**MODEL, "zero_mean": zero_mean, **model_keys}
    kept = cls(env=Frames, config={**config, "model": model})
    model = {**model, "custom_preprocessor": "scaled_up_front"}
    upfront = cls(env=Frames, config={**config, "model": model})
    return kept, upfront


def test_batches_and_explain_keep_the_frames_as_bytes():
    with stopped_after(PPO(env=Frames, config={**ON_POLICY, "model": MODEL})) as (trainer,):
        assert trainer.policy.obs_dtype is np.uint8
        assert repr(trainer.policy.byte_scale) == "(x - 128) / 128"  # zero_mean, the default
        assert "batches keep uint8 frames" in str(trainer.policy.explain())
        batch = trainer.sampler.sample(4)
        assert batch["obs"].dtype == np.uint8 and batch["obs"].shape == (4, 2, *SHAPE)
        assert batch["unfiltered_obs"] is batch["obs"] and batch["last_obs"].dtype == np.uint8
        # The stored bytes are the env's frames, unchanged.
        assert np.array_equal(batch["last_obs"], trainer.sampler.obs)
        # trace() still shows each stage's values: the preprocessor's are scaled floats.
        stages = trainer.policy.trace(trainer.sampler.obs[0])
        expected = (trainer.sampler.obs[0].astype(np.float32) - 128) / 128
        assert stages[1].name == "preprocessor" and np.array_equal(stages[1].output, expected)


@pytest.mark.parametrize("zero_mean", [True, False])
def test_model_reads_the_same_bits_as_the_preprocessor_makes(zero_mean):
    policy = Policy(FRAMES, gym.spaces.Discrete(2), {"model": {**MODEL, "zero_mean": zero_mean}})
    frames = np.random.default_rng(0).integers(0, 256, (5, *SHAPE), dtype=np.uint8)
    scaled = policy.preprocessor.transform_batch(frames)
    assert scaled.dtype == np.float32
    assert torch.equal(policy.model.decode_obs(frames), torch.from_numpy(scaled))
    assert torch.equal(policy.byte_scale(frames), torch.from_numpy(scaled))
    with torch.no_grad():
        assert torch.equal(policy.model({"obs": frames})[0], policy.model({"obs": scaled})[0])


@pytest.mark.parametrize("zero_mean", [True, False])
@pytest.mark.parametrize("cls", [PPO, A2C])
def test_on_policy_training_is_bit_for_bit_the_float_path(cls, zero_mean):
    with stopped_after(*trainers(cls, ON_POLICY, zero_mean)) as (kept, upfront):
        assert kept.policy.byte_scale is not None and upfront.policy.byte_scale is None
        assert upfront.policy.preprocess(upfront.sampler.obs).dtype == np.float32
        for _ in range(2):
            a, b = kept.train(), upfront.train()
            for key in ("policy_loss", "vf_loss", "entropy", "episode_reward_mean"):
                assert same(a[key], b[key]), key
        assert_same_weights(kept, upfront)


def test_recurrent_training_on_bytes_is_bit_for_bit_the_float_path():
    # Padded sequences: padding rows are zero bytes, which the model scales like any frame.
    config = {**ON_POLICY, "sgd_minibatch_size": 16}
    built = trainers(PPO, config, zero_mean=True, use_lstm=True, max_seq_len=4)
    with stopped_after(*built) as (kept, upfront):
        assert kept.policy.byte_scale is not None and kept.policy.is_recurrent()
        for _ in range(2):
            a, b = kept.train(), upfront.train()
            assert same(a["policy_loss"], b["policy_loss"]) and same(a["vf_loss"], b["vf_loss"])
        assert_same_weights(kept, upfront)


def test_single_actions_read_the_frames_as_bytes_too():
    with stopped_after(*trainers(PPO, ON_POLICY, zero_mean=True)) as (kept, upfront):
        frames = np.random.default_rng(1).integers(0, 256, (20, *SHAPE), dtype=np.uint8)
        upfront.model.load_state_dict(kept.model.state_dict())
        mine = [kept.compute_single_action(f, explore=True) for f in frames]
        assert mine == [upfront.compute_single_action(f, explore=True) for f in frames]
        assert len(set(mine)) == 2  # sampled: both actions occur
        logits = [
            t.policy.compute_actions(frames)[2]["action_dist_inputs"] for t in (kept, upfront)
        ]
        assert np.array_equal(*logits) and np.unique(logits[0][:, 0]).size == 20


def test_dqn_replays_bytes_and_learns_bit_for_bit_the_float_path():
    with stopped_after(*trainers(DQN, FAST_DQN, zero_mean=False)) as (kept, upfront):
        buffer = kept.buffer
        assert buffer.data["obs"].dtype == np.uint8 and buffer.data["next_obs"].dtype == np.uint8
        assert upfront.buffer.data["obs"].dtype == np.float32
        for _ in range(4):
            a, b = kept.train(), upfront.train()
            assert same(a["loss"], b["loss"]) and same(a["mean_q"], b["mean_q"])
        assert not np.isnan(a["loss"])  # past learning_starts: gradient steps were compared
        n = len(buffer)
        assert n > 0
        assert np.array_equal(
            buffer.data["obs"][:n].astype(np.float32) / 255, upfront.buffer.data["obs"][:n]
        )
        assert_same_weights(kept, upfront)


def test_replay_buffer_of_frames_takes_a_quarter_of_the_memory():
    frames = ReplayBuffer(1000, (84, 84, 4), np.uint8)
    floats = ReplayBuffer(1000, (84, 84, 4))
    assert frames.data["obs"].nbytes == 1000 * 84 * 84 * 4  # 28.2 MB per 1,000 transitions
    assert floats.data["obs"].nbytes == 4 * frames.data["obs"].nbytes


def test_a_filter_or_a_resize_scales_up_front():
    space = gym.spaces.Box(0, 255, (20, 20, 3), np.uint8)
    act = gym.spaces.Discrete(2)
    filtered = Policy(space, act, {"observation_filter": "MeanStdFilter"})
    resized = Policy(space, act, {"model": {"dim": 10}})
    gray = Policy(space, act, {"model": {"grayscale": True}})
    kept = Policy(space, act)
    assert [p.byte_scale is None for p in (filtered, resized, gray, kept)] == [
        True,
        True,
        True,
        False,
    ]
    frames = np.zeros((2, 20, 20, 3), np.uint8)
    assert filtered.preprocess(frames).dtype == np.float32
    assert kept.preprocess(frames).dtype == np.uint8


def test_frames_of_another_integer_dtype_are_kept_and_fractions_refused():
    policy = Policy(FRAMES, gym.spaces.Discrete(2))
    wide = np.full((1, *SHAPE), 200, np.int64)
    assert policy.preprocess(wide).dtype == np.uint8
    with pytest.raises(ValueError, match=r"obs should hold whole numbers 0\.\.255 .*uint8 frames"):
        policy.preprocess(np.full((1, *SHAPE), 0.5))


# -- offline data: written as bytes, read back as bytes, scaled by the reader's policy --------


def record(tmp_path, zero_mean=True):
    out = tmp_path / "frames"
    config = {**ON_POLICY, "output": str(out), "model": {**MODEL, "zero_mean": zero_mean}}
    with stopped_after(PPO(env=Frames, config=config)) as (trainer,):
        trainer.train()
    return out


def test_offline_lines_hold_the_frames_as_bytes(tmp_path):
    out = record(tmp_path)
    line = json.loads(next(iter(sorted(out.glob("*.jsonl")))).read_text().splitlines()[0])
    assert line["obs_dtype"] == "uint8" and line["obs_shape"] == list(SHAPE)
    values = np.asarray(line["obs"])
    assert values.dtype.kind == "i" and values.min() >= 0 and values.max() <= 255
    data = JsonReader(str(out)).read_all()
    assert data["obs"].dtype == np.uint8 and data["obs"].shape[1:] == SHAPE


def as_float_file(src, dst, zero_mean):
    """The same lines with obs scaled by the preprocessor (what a float32 writer stores)."""
    scale = ByteScale(zero_mean)
    with open(dst, "w") as f:
        for text in src.read_text().splitlines():
            line = json.loads(text)
            line.pop("obs_dtype")
            line["obs"] = scale(np.asarray(line["obs"], np.uint8)).tolist()
            f.write(json.dumps(line) + "\n")


@pytest.mark.parametrize("filter_name", ["NoFilter", "MeanStdFilter"])
def test_bc_on_bytes_trains_like_bc_on_scaled_floats(tmp_path, filter_name):
    out = record(tmp_path)
    src = next(iter(sorted(out.glob("*.jsonl"))))
    floats = tmp_path / "floats.jsonl"
    as_float_file(src, floats, zero_mean=True)
    config = {
        "model": MODEL,
        "observation_filter": filter_name,
        "seed": 0,
        "num_envs": 1,
        "rollout_fragment_length": 8,
        "sgd_minibatch_size": 16,
    }
    built = [BC(env=Frames, config={**config, "input": str(path)}) for path in (src, floats)]
    with stopped_after(*built) as (on_bytes, on_floats):
        assert on_bytes.obs.dtype == np.uint8 and on_floats.obs.dtype == np.float32
        for _ in range(2):
            a, b = on_bytes.train(), on_floats.train()
            assert a["bc_loss"] == b["bc_loss"]
        assert_same_weights(on_bytes, on_floats)


def test_reader_refuses_bad_bytes_and_mixed_lines(tmp_path):
    out = record(tmp_path)
    src = next(iter(sorted(out.glob("*.jsonl"))))
    line = json.loads(src.read_text().splitlines()[0])
    bad = tmp_path / "bad"
    bad.mkdir()
    broken = dict(line)
    broken["obs"] = np.asarray(line["obs"]).tolist()
    broken["obs"][1][0][0][0] = 256
    (bad / "a.jsonl").write_text(json.dumps(broken) + "\n")
    with pytest.raises(ValueError, match=r"a\.jsonl, line 1: obs_dtype is 'uint8' but obs row 1"):
        JsonReader(str(bad)).read_all()
    (bad / "a.jsonl").write_text(json.dumps({**line, "obs_dtype": "uint16"}) + "\n")
    with pytest.raises(ValueError, match=r"obs_dtype must be one of 'float32', 'uint8'"):
        JsonReader(str(bad)).read_all()
    as_float_file(src, bad / "a.jsonl", zero_mean=True)
    (bad / "b.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(ValueError, match=r"b\.jsonl, line 1: obs are uint8 but earlier lines"):
        JsonReader(str(bad)).read_all()
