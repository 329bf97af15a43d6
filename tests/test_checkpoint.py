"""rlkit.algorithms.common.checkpoint: save() and restore() of every trainer.

A checkpoint is written atomically and refuses non-finite weights; restore() is all or
nothing and names what is wrong with a damaged or foreign file; a restored trainer acts and
trains on exactly as the saved one.
"""

from __future__ import annotations

import collections
import math
import os
import pathlib
import stat
import threading

import numpy as np
import pytest
import torch
from reliability_helpers import ALGOS, assert_same, make_trainer, state

from rlkit.algorithms import A2C, DQN, PPO

TINY = {"num_envs": 2, "rollout_fragment_length": 16, "model": {"fcnet_hiddens": [8]}}
FAST_DQN = {
    "model": {"fcnet_hiddens": [16]},
    "num_envs": 2,
    "seed": 0,
    "min_sample_timesteps_per_iteration": 0,
}


def test_save_restore_gives_identical_actions_and_next_result(tmp_path):
    config = {**TINY, "seed": 1, "observation_filter": "MeanStdFilter"}
    trainer = PPO(env="CartPole-v1", config=config)
    trainer.train()
    path = trainer.save(str(tmp_path))
    assert os.path.basename(path) == "checkpoint.pt"
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    restored = PPO(env="CartPole-v1", config={**config, "seed": 99})
    restored.restore(path)
    obs = np.array([0.01, -0.2, 0.03, 0.4], np.float32)
    assert trainer.compute_single_action(obs) == restored.compute_single_action(obs)
    a, b = trainer.train(), restored.train()
    for key in (
        "policy_loss",
        "vf_loss",
        "kl",
        "timesteps_total",
        "training_iteration",
        "episodes_total",
    ):
        assert a[key] == b[key], key


def test_corrupted_or_foreign_checkpoint_is_a_clear_error_and_changes_nothing(tmp_path):
    trainer = PPO(env="CartPole-v1", config={**TINY, "seed": 0})
    path = trainer.save(str(tmp_path))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with open(path, "rb") as f:
        data = f.read()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated, corrupted"):
        trainer.restore(str(truncated))
    pickled = tmp_path / "pickled.pt"  # an arbitrary object: torch's own message would advise
    torch.save({"obj": collections.OrderedDict, "fn": print}, pickled)  # weights_only=False
    with pytest.raises(ValueError, match="truncated, corrupted") as info:
        trainer.restore(str(pickled))
    assert "weights_only" not in str(info.value) and "objects other than tensors" in str(info.value)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="not an rlkit checkpoint"):
        trainer.restore(str(foreign))
    other = A2C(env="CartPole-v1", config={**TINY})
    with pytest.raises(ValueError, match="written by PPO"):
        other.restore(path)
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("algo", ALGOS)
def test_save_refuses_nonfinite_weights_and_keeps_the_good_checkpoint(algo, tmp_path):
    trainer = make_trainer(algo, tmp_path)
    trainer.train()
    path = trainer.save(str(tmp_path / "ckpt"))
    good = pathlib.Path(path).read_bytes()
    with torch.no_grad():
        next(iter(trainer.model.parameters())).view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match="refusing to save"):
        trainer.save(str(tmp_path / "ckpt"))
    assert pathlib.Path(path).read_bytes() == good
    assert [f for f in os.listdir(tmp_path / "ckpt")] == ["checkpoint.pt"]
    trainer.stop()


def corrupt(ckpt: dict, how: str) -> None:
    if how == "missing_section":
        del ckpt["filter"]
    elif how == "filter_shape":
        ckpt["filter"]["shape"] = [5]
    elif how == "filter_nan":
        ckpt["filter"]["rs"]["mean"] = [float("nan")] * 3
    elif how == "nan_weight":
        next(iter(ckpt["model"].values())).view(-1)[0] = float("nan")
    elif how == "extra":  # DQN's target network, BC's counter: the last section applied
        ckpt["extra"] = {"target_model": {}, "junk": 1}
    elif how == "counters":
        del ckpt["counters"]["episodes_total"]
    elif how == "optimizer":
        ckpt["optimizer"] = {"state": {}, "param_groups": []}


@pytest.mark.parametrize(
    "how",
    ["missing_section", "filter_shape", "filter_nan", "nan_weight", "extra", "counters",
     "optimizer"],
)  # fmt: skip
@pytest.mark.parametrize("algo", ALGOS)
def test_restore_is_all_or_nothing(algo, how, tmp_path):
    trainer = make_trainer(algo, tmp_path, observation_filter="MeanStdFilter")
    trainer.train()
    path = trainer.save(str(tmp_path / "ckpt"))
    trainer.train()  # now differs from the checkpoint in every section
    ckpt = torch.load(path, weights_only=True)
    corrupt(ckpt, how)
    torch.save(ckpt, path)
    before = state(trainer)
    with pytest.raises(ValueError, match="checkpoint"):
        trainer.restore(path)
    assert_same(state(trainer), before)
    if algo == "DQN":
        own = trainer.target_model.state_dict()
        assert all(torch.equal(v, before["extra"]["target_model"][k]) for k, v in own.items())
    trainer.stop()


@pytest.mark.parametrize("algo", ALGOS)
def test_save_while_a_thread_trains_writes_a_whole_iteration(algo, tmp_path):
    """save() waits for the running iteration: the checkpoint restores to a trainer whose
    counters and weights belong to one finished iteration."""
    trainer = make_trainer(algo, tmp_path)
    thread = threading.Thread(target=lambda: [trainer.train() for _ in range(3)])
    thread.start()
    paths = []
    while thread.is_alive() or not paths:
        paths.append(trainer.save(str(tmp_path / f"ckpt{len(paths)}")))
    thread.join()
    for path in paths:
        ckpt = torch.load(path, weights_only=True)
        fresh = make_trainer(algo, tmp_path)
        fresh.restore(path)
        assert fresh.iteration == ckpt["counters"]["iteration"] <= 3
        fresh.stop()
    trainer.stop()


@pytest.mark.parametrize("algo", ALGOS)
def test_checkpoints_follow_the_umask_and_clean_up_a_killed_save(algo, tmp_path):
    trainer = make_trainer(algo, tmp_path)
    directory = tmp_path / "ckpt"
    directory.mkdir()
    stale = directory / ".checkpoint-999999999-abc.tmp"  # a save killed mid-write
    stale.write_bytes(b"partial")
    old = os.umask(0o022)
    try:
        path = trainer.save(str(directory))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(os.listdir(directory)) == ["checkpoint.pt"]
    trainer.stop()


def test_dqn_checkpoint_restores_target_network(tmp_path):
    config = {
        **FAST_DQN,
        "learning_starts": 16,
        "train_batch_size": 16,
        "target_network_update_freq": 40,
    }
    trainer = DQN(env="CartPole-v1", config=config)
    # Train past one target sync, then on: the target net lags the online one.
    while not 0 < trainer.last_target_update < trainer.timesteps_total:
        trainer.train()
    target = {k: v.clone() for k, v in trainer.target_model.state_dict().items()}
    online = trainer.model.state_dict()
    assert any(not torch.equal(target[k], online[k]) for k in target)  # not synced just now
    path = trainer.save(str(tmp_path / "ckpt"))
    trainer.stop()
    restored = [DQN(env="CartPole-v1", config={**config, "seed": 1}) for _ in range(2)]
    for r in restored:
        fresh = r.target_model.state_dict()
        assert any(not torch.equal(fresh[k], target[k]) for k in target)
        r.restore(path)
        for k, v in r.target_model.state_dict().items():
            torch.testing.assert_close(v, target[k], rtol=0, atol=0)
        assert r.last_target_update == trainer.last_target_update
        assert len(r.buffer) == 0  # not checkpointed: refilled before learning again
    # Two trainers restored from one checkpoint continue identically.
    a = [restored[0].train() for _ in range(4)]
    b = [restored[1].train() for _ in range(4)]
    for x, y in zip(a, b):
        for key in ("loss", "mean_q", "episode_reward_mean", "epsilon", "timesteps_total"):
            assert (math.isnan(x[key]) and math.isnan(y[key])) or x[key] == y[key], key
    for r in restored:
        r.stop()
