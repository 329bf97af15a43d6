"""``num_threads="auto"``: threads per call from the work and what the machine has free
(rlkit.utils.threads), with the machine's figures injected so that every expectation is exact."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

import rlkit.utils.threads as threads
from rlkit import ModelCatalog
from rlkit.algorithms import PPO
from rlkit.models.visionnet import VisionNetwork
from rlkit.policy import Policy
from rlkit.utils.threads import (
    MIN_WORK_PER_THREAD,
    CpuMeter,
    Machine,
    ThreadBudget,
    count_macs,
    cpu_quota,
    decide_threads,
)


def machine(cpus=2, quota=None, busy=0.0):
    return Machine(cpus=cpus, quota=quota, busy=busy, source="injected")


@pytest.mark.parametrize(
    "cpus, quota, busy, free",
    [
        (2, None, 0.0, 2),  # a quiet 2-core machine
        (2, None, 0.4, 2),  # 1.6 free rounds to 2
        (2, None, 0.6, 1),  # 1.4 free rounds to 1
        (2, None, 1.0, 1),  # a neighbour holds a core
        (2, None, 7.0, 1),  # never fewer than one
        (16, 2.5, 0.0, 2),  # a container limited to 2.5 CPUs
        (16, 0.5, 0.0, 1),  # a quota under one CPU still runs one thread
        (16, None, 3.2, 13),
        (16, 4.0, 14.0, 2),  # 2 free of the machine, under the quota of 4
    ],
)
def test_free_cpus_from_affinity_quota_and_load(cpus, quota, busy, free):
    assert machine(cpus, quota, busy).free() == free


@pytest.mark.parametrize(
    "work, m, expected",
    [
        (3e9, machine(2), 2),  # a conv net's 256-row step on a quiet machine
        (3e9, machine(2, busy=1.0), 1),  # ... with a neighbour on one core
        (3.5e6, machine(2), 1),  # a 64-64 MLP's 256-row step: too small to share
        (30e6, machine(16), 1),  # a conv net's forward on 8 frames
        (4.5e8, machine(16), 4),  # one thread per 100M multiply-adds
        (4.5e8, machine(16, quota=3.0), 3),
    ],
)
def test_decide_threads_closed_form(work, m, expected):
    n, why = decide_threads(work, m)
    assert n == expected
    assert ("CPUs free" in why) == (n == m.free())


def test_cpu_quota_reads_cgroup_v2(tmp_path):
    path = tmp_path / "cpu.max"
    path.write_text("150000 100000\n")
    assert cpu_quota(str(path)) == 1.5
    path.write_text("max 100000\n")
    assert cpu_quota(str(path)) is None
    assert cpu_quota(str(tmp_path / "missing")) is None


def test_stat_busy_counts_the_process_cpus_only(tmp_path, monkeypatch):
    path = tmp_path / "stat"
    path.write_text(
        "cpu  300 0 300 900 100 0 0 0 0 0\n"
        "cpu0 100 0 100 300 50 0 0 0 0 0\n"
        "cpu1 200 0 200 600 50 0 0 0 0 0\n"
        "intr 1 2 3\n"
    )
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    assert threads._stat_busy({1}, str(path)) == pytest.approx(4.0)  # 400 ticks at 100/s
    assert threads._stat_busy({0, 1}, str(path)) == pytest.approx(6.0)


class FakeClock:
    def __init__(self):
        self.now, self.busy, self.own, self.slept = 0.0, 100.0, 5.0, []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_cpu_meter_counts_others_not_this_process():
    c = FakeClock()
    meter = CpuMeter(lambda: c.busy, lambda: c.own, lambda: c.now, sleep=c.sleep)
    c.now, c.busy, c.own = 0.04, 100.08, 5.04  # 0.04 s later: this process busy on one CPU
    busy, where = meter.busy(min_window=0.1)
    assert c.slept == [pytest.approx(0.06)]  # the first figure waits out the window
    assert busy == pytest.approx((0.08 - 0.04) / 0.1) and "/proc/stat" in where
    c.now, c.busy, c.own = 2.1, 104.08, 6.04  # 2 s: 4 CPU-s busy, 1 of them this process's
    assert meter.busy()[0] == pytest.approx(1.5)
    c.now += 0.05  # within the window: the last figure, no wait
    assert meter.busy()[0] == pytest.approx(1.5) and len(c.slept) == 1


def test_cpu_meter_falls_back_to_the_load_average():
    meter = CpuMeter(lambda: None, lambda: 0.0, load_average=lambda: 1.25)
    assert meter.busy() == (1.25, "1-minute load average")


def test_budget_explicit_number_wins_and_small_work_never_reads_the_machine():
    def unread():
        raise AssertionError("the machine was read for work that never shares out")

    fixed = ThreadBudget(3, macs_per_row=10.0, machine=unread)
    assert fixed.for_rows(1) == fixed.learner() == 3 and "set by num_threads" in fixed.describe()
    small = ThreadBudget("auto", macs_per_row=4_500, learner_rows=256, machine=unread)
    assert small.learner() == small.acting() == 1
    assert "too small" in small.describe()


def test_budget_auto_by_work_and_free_cpus_as_the_machine_changes():
    state = {"m": machine(2)}
    budget = ThreadBudget(
        "auto", 3.8e6, learner_rows=256, acting_rows=8, machine=lambda: state["m"]
    )
    assert (budget.learner(), budget.acting()) == (2, 1)  # 2.9G per step; 30M per action step
    assert budget.for_rows(1032) == 2  # the value pass over a rollout
    assert "2 for a 256-row gradient step, 1 for a 8-row action step" in budget.describe()
    state["m"] = machine(2, busy=1.0)
    budget.refresh()
    assert (budget.learner(), budget.acting()) == (1, 1)
    assert "1.0 busy with other work" in budget.describe()


def test_count_macs_closed_form():
    mlp = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 2))
    x = torch.zeros(3, 4)
    assert count_macs(mlp, lambda: mlp(x), rows=3) == 4 * 64 + 64 * 2
    conv = nn.Conv2d(4, 16, 8, stride=4)  # 84x84 -> 20x20
    frames = torch.zeros(2, 4, 84, 84)
    assert count_macs(conv, lambda: conv(frames), rows=2) == 16 * 20 * 20 * 4 * 8 * 8
    lstm = nn.LSTM(10, 32, batch_first=True)
    seq = torch.zeros(1, 5, 10)
    assert count_macs(lstm, lambda: lstm(seq), rows=5) == 4 * (10 + 32) * 32


class FrameEnv(gym.Env):
    """Random 84x84x4 frames, 2 actions, episodes of 20 steps."""

    observation_space = gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 255, (84, 84, 4), dtype=np.uint8), {}

    def step(self, action):
        self.t += 1
        obs = self.np_random.integers(0, 255, (84, 84, 4), dtype=np.uint8)
        return obs, float(action), self.t >= 20, False, {}


THREADS_SEEN: list[tuple[int, int]] = []


class ThreadSpy(VisionNetwork):
    """The default conv net, noting (rows, torch threads) of each forward."""

    def forward(self, input_dict, state, seq_lens):
        THREADS_SEEN.append((input_dict["obs"].shape[0], torch.get_num_threads()))
        return super().forward(input_dict, state, seq_lens)


def test_trainer_gives_the_learner_the_free_cpus_and_acting_one(monkeypatch):
    monkeypatch.setattr(threads, "read_machine", lambda meter: machine(2))
    ModelCatalog.register_custom_model("thread_spy", ThreadSpy)
    before = torch.get_num_threads()
    trainer = PPO(
        env=FrameEnv,
        config={
            "seed": 0,
            "num_envs": 2,
            "rollout_fragment_length": 64,
            "num_sgd_iter": 1,
            "sgd_minibatch_size": 64,
            "model": {"custom_model": "thread_spy"},
        },
    )
    THREADS_SEEN.clear()
    result = trainer.train()
    assert result["num_threads"] == 2 and result["num_threads_sampling"] == 1
    assert (
        "2 of 2 CPUs" in result["num_threads_reason"]
        or "free of 2 CPUs" in (result["num_threads_reason"])
    )
    acting = {n for rows, n in THREADS_SEEN if rows == 2}
    batches = {n for rows, n in THREADS_SEEN if rows > 2}
    assert acting == {1}  # an action step: 2 frames, 15M multiply-adds (two conv towers)
    assert batches == {2}  # the value pass (130 rows) and the 64-row gradient steps: > 1G
    assert len(THREADS_SEEN) > 64 + 2
    assert torch.get_num_threads() == before
    assert "threads       2 for a 64-row gradient step" in str(trainer.get_policy().explain())
    monkeypatch.setattr(threads, "read_machine", lambda meter: machine(2, busy=1.0))
    THREADS_SEEN.clear()
    result = trainer.train()  # the machine is read again at every iteration
    assert result["num_threads"] == 1 and {n for _, n in THREADS_SEEN} == {1}
    trainer.stop()


def test_cartpole_default_stays_on_one_thread_and_says_why():
    trainer = PPO(env="CartPole-v1", config={"seed": 0, "num_envs": 2})
    result = trainer.train()
    assert result["num_threads"] == result["num_threads_sampling"] == 1
    assert "too small to share out" in result["num_threads_reason"]
    assert trainer.get_policy().threads.machine is None  # never read: nothing to decide
    trainer.stop()


def test_policy_alone_takes_auto_and_numbers():
    space = gym.spaces.Box(-1, 1, (4,), np.float32)
    policy = Policy(space, gym.spaces.Discrete(2), {"num_threads": 2})
    assert policy.num_threads == 2 and policy.threads.for_rows(1) == 2
    assert Policy(space, gym.spaces.Discrete(2)).num_threads == "auto"
    with pytest.raises(ValueError, match="'num_threads' takes 'auto' or a positive int"):
        Policy(space, gym.spaces.Discrete(2), {"num_threads": "many"})
    assert MIN_WORK_PER_THREAD == 100e6
