"""Remote env runners and Tune sweeps on a real Ray cluster on this machine.

One session cluster (rlkit.scaling.LocalCluster): a head with 0 CPUs and 2 worker nodes of
1 CPU each, every process on 127.0.0.1, dashboard off, 200 MB object stores; the fixture
asserts at the end that every process it started has ended. The node-removal test runs last
(it replaces a node).
"""

import copy
import glob
import os
import tempfile
import time

import numpy as np
import pytest
import torch

from rlkit.algorithms import DQN, PPO
from rlkit.filters import RunningStat
from rlkit.sampling import Sampler

pytestmark = pytest.mark.ray

T = 32  # steps per env per iteration: Pendulum's episodes (200 steps) never end in 5 x 32


@pytest.fixture(scope="module")
def cluster():
    from rlkit.scaling import LocalCluster

    local = LocalCluster(num_nodes=2, cpus_per_node=1, head_cpus=0, object_store_mb=200)
    local.start()
    try:
        assert local.sockets_off_loopback() == []
        yield local
        assert local.sockets_off_loopback() == []
    finally:
        left = local.shutdown()
    assert left == [], f"Ray processes still running after shutdown: {left}"
    assert local.seen_pids and local.alive_pids() == []


def ppo(seed=0, **config):
    base = {
        "num_env_runners": 2,
        "num_envs": 4,
        "rollout_fragment_length": T,
        "num_sgd_iter": 2,
        "sgd_minibatch_size": 128,
        "seed": seed,
    }
    return PPO(env="Pendulum-v1", config={**base, **config})


def test_runners_on_distinct_worker_nodes_and_five_iterations(cluster):
    trainer = ppo(seed=0)
    try:
        where = trainer.sampler.where()
        nodes = [w["node_id"] for w in where]
        assert len(set(nodes)) == 2 and set(nodes) <= set(cluster.node_ids)
        assert cluster.head_node_id not in nodes
        results = [trainer.train() for _ in range(5)]
    finally:
        trainer.stop()
    # 2 runners x 4 envs x 32 steps, 5 times; no Pendulum episode ends within 160 steps.
    assert [r["timesteps_total"] for r in results] == [256 * (i + 1) for i in range(5)]
    assert all(r["num_env_runners"] == 2 and r["env_runner_events"] == [] for r in results)
    again = ppo(seed=0)  # the same seed and N: the same numbers
    try:
        repeat = [again.train() for _ in range(2)]
    finally:
        again.stop()
    for a, b in zip(results[:2], repeat):
        for key in ("policy_loss", "vf_loss", "kl", "timesteps_total"):
            assert a[key] == b[key], key
    assert cluster.sockets_off_loopback() == []


def test_runner0_reproduces_local_sampler_and_filters_merge(cluster):
    trainer = ppo(seed=5, observation_filter="MeanStdFilter")
    batches = []
    remote_sample = trainer.sampler.sample

    def recording_sample(*args, **kwargs):
        batches.append(remote_sample(*args, **kwargs))
        return batches[-1]

    try:
        policy = copy.deepcopy(trainer.policy)  # the weights and (empty) filter runners get
        trainer.sampler.sample = recording_sample
        first = trainer.sampler.sample(T)
        trainer.train()
        trainer.train()
        driver_filter = trainer.policy.filter
    finally:
        trainer.stop()
    # Runner 0 = a local Sampler with the same policy, env seed 5 and torch seed 5.
    outer = torch.get_rng_state()
    torch.manual_seed(5)
    local = Sampler("Pendulum-v1", policy, 4, seed=5).sample(T)
    torch.set_rng_state(outer)
    for key in ("obs", "actions", "action_logp", "rewards", "vf_preds", "eps_id"):
        np.testing.assert_array_equal(first[key][:, :4], local[key], err_msg=key)
    assert first["obs"].shape == (T, 8, 3)
    assert set(np.unique(first["eps_id"][:, 4:])) >= {1 << 40}  # runner 1's ids are its own
    # The driver's MeanStdFilter = the merged statistics of every observation runners filtered.
    seen = RunningStat((3,))
    for b in batches:
        seen.push_batch(b["unfiltered_obs"].reshape(-1, 3))
    assert driver_filter.rs.n == seen.n == 3 * T * 8
    np.testing.assert_allclose(driver_filter.rs.mean, seen.mean, rtol=1e-10)
    np.testing.assert_allclose(driver_filter.rs.var, seen.var, rtol=1e-9)


def test_dqn_exploration_reaches_runners(cluster):
    trainer = DQN(
        env="CartPole-v1",
        # RLlib's older names: num_workers = num_env_runners, num_envs_per_worker = num_envs.
        config={
            "num_workers": 2,
            "num_envs_per_worker": 2,
            "rollout_fragment_length": 16,
            "seed": 1,
        },
    )
    try:
        trainer.epsilon = 0.3
        batch = trainer.sampler.sample(
            16, with_value=False, compute_actions=trainer.explore_actions
        )
    finally:
        trainer.stop()
    # epsilon-greedy over 2 actions: p(greedy) = 0.85, p(other) = 0.15, on every runner.
    logp = batch["action_logp"]
    assert logp.shape == (16, 4)
    np.testing.assert_allclose(np.unique(np.round(logp, 5)), np.round(np.log([0.15, 0.85]), 5))
    for runner in (slice(0, 2), slice(2, 4)):
        assert np.isclose(logp[:, runner], np.log(0.15), atol=1e-5).any()


def test_sweep_of_four_trials_equals_in_process_runs(cluster):
    from rlkit.scaling import run_sweep

    base = {
        "num_envs": 2,
        "rollout_fragment_length": 32,
        "num_sgd_iter": 1,
        "sgd_minibatch_size": 64,
    }
    grid = {"lr": [1e-3, 3e-4]}
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "rlkit_sweep_*")))
    trials = run_sweep("PPO", "CartPole-v1", grid=grid, seeds=[0, 1], iterations=2, config=base)
    assert len(trials) == 4 and [t["error"] for t in trials] == [None] * 4
    # Tune's trial folders went in rlkit's own temporary directory, removed after the sweep.
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "rlkit_sweep_*"))) <= before
    for t in trials:
        assert [r["training_iteration"] for r in t["results"]] == [1, 2]
        local = PPO(env="CartPole-v1", config={**base, **t["changes"], "seed": t["seed"]})
        try:
            expected = [local.train() for _ in range(2)]
        finally:
            local.stop()
        for got, want in zip(t["results"], expected):
            for key in ("policy_loss", "vf_loss", "timesteps_total", "episodes_total"):
                assert got[key] == want[key], (t["changes"], t["seed"], key)


def test_tune_tuner_with_asha_runs_rlkit_trainable(cluster, tmp_path):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from rlkit.scaling import rlkit_trainable

    space = {
        "env": "CartPole-v1",
        "num_envs": 2,
        "rollout_fragment_length": 64,
        "num_sgd_iter": 1,
        "lr": tune.grid_search([1e-3, 1e-5]),
        "seed": 0,
    }
    asha = ASHAScheduler(
        metric="timesteps_total", mode="max", max_t=3, grace_period=1, reduction_factor=2
    )
    tuner = tune.Tuner(
        rlkit_trainable("PPO"),
        param_space=space,
        tune_config=tune.TuneConfig(scheduler=asha),
        run_config=tune.RunConfig(
            stop={"training_iteration": 3}, verbose=0, storage_path=str(tmp_path)
        ),
    )
    grid = tuner.fit()
    assert grid.num_errors == 0 and len(grid) == 2
    for result in grid:
        assert 1 <= result.metrics["training_iteration"] <= 3
        assert result.metrics["timesteps_total"] > 0


def test_sweep_dashboard_draws_trials_live_and_stop_ends_the_sweep(cluster):
    from rlkit.widgets.sweep import SweepDashboard

    config = {"num_envs": 2, "rollout_fragment_length": 32, "num_sgd_iter": 1}
    board = SweepDashboard(
        "PPO",
        "CartPole-v1",
        grid={"lr": [1e-3]},
        seeds=[0, 1],
        iterations=1000,
        config=config,
        redraw_interval_s=0.0,
    )
    drawn = []
    board.redraw = lambda redraw=board.redraw: (redraw(), drawn.append(sorted(board.runs)))
    board.start()
    deadline = time.monotonic() + 300
    try:
        # Both trials have reported (Tune may start the second a few iterations later).
        while len(board.runs) < 2 and board._thread.is_alive() and time.monotonic() < deadline:
            board._thread.join(0.2)
    finally:
        board.stop()  # what the Stop button does
    assert board.wait(timeout=300)
    assert board.error == "", board.error
    assert [t["error"] for t in board.trials] == [None, None]
    assert all(len(t["results"]) < 1000 for t in board.trials)  # stopped, not run out
    assert sorted(board.runs) == ["lr=0.001 seed 0", "lr=0.001 seed 1"]
    assert drawn and board.curves.value[:8] == b"\x89PNG\r\n\x1a\n"  # a live redraw happened
    assert board.status.value.startswith("stopped: 2 of 2 trials started, 0 ran all 1000")
    assert board.status.value.endswith("2 stopped early, 0 with errors")


def test_sweep_never_clears_the_notebook_output(cluster, monkeypatch):
    # In a notebook Tune's JupyterNotebookReporter calls clear_output(wait=True) and
    # display(HTML("")) from the sweep's thread even at verbose=0, blanking the cell that ran
    # last (the sweep dashboard's, when it is re-run). run_sweep hands Tune a silent reporter.
    import IPython.display
    import ray.tune.progress_reporter
    import ray.tune.tune

    from rlkit.scaling import run_sweep

    calls = []
    monkeypatch.setattr(ray.tune.tune, "IS_NOTEBOOK", True)
    monkeypatch.setattr(ray.tune.progress_reporter, "IS_NOTEBOOK", True)
    monkeypatch.setattr(IPython.display, "clear_output", lambda *a, **k: calls.append("clear"))
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append("display"))
    config = {"num_envs": 2, "rollout_fragment_length": 16, "num_sgd_iter": 1}
    trials = run_sweep("PPO", "CartPole-v1", seeds=[0], iterations=1, config=config)
    assert [t["state"] for t in trials] == ["finished"] and len(trials[0]["results"]) == 1
    assert calls == []


def test_no_dashboard_web_ui(cluster):
    # include_dashboard=False still starts Ray's dashboard head process (notebook 11 says so):
    # with its web frontend disabled and only the usage-stats module loaded.
    import psutil

    heads = []
    for pid in cluster.seen_pids:
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if "dashboard/dashboard.py" in cmdline:
            heads.append(cmdline)
    assert heads, "no dashboard head process found"
    assert all("--disable-frontend" in cmdline for cmdline in heads), heads


def test_more_runners_than_cpus_is_a_clear_error(cluster, monkeypatch):
    from rlkit.scaling import runners

    monkeypatch.setattr(runners, "START_TIMEOUT_S", 20)
    with pytest.raises(RuntimeError, match=r"needs 1 CPU and the Ray cluster has 2 \("):
        ppo(num_env_runners=3)


def test_node_lost_mid_run_runner_rebuilt_and_training_completes(cluster):
    trainer = ppo(seed=2)
    try:
        trainer.train()
        lost = trainer.sampler.where()[1]["node_id"]
        node = next(n for n in cluster.nodes if n.node_id == lost)
        cluster.remove_node(node)  # runner 1's machine is gone
        cluster.add_node()  # and a replacement joins, as an autoscaler would add one
        result = trainer.train()
        after = trainer.sampler.where()
    finally:
        trainer.stop()
    assert result["training_iteration"] == 2 and result["timesteps_total"] == 2 * 256
    assert result["num_env_runner_restarts"] == 1
    assert (
        len(result["env_runner_events"]) == 1
        and "env runner 1 died" in result["env_runner_events"][0]
    )
    assert after[1]["node_id"] != lost and after[1]["node_id"] in cluster.node_ids
    assert cluster.sockets_off_loopback() == []
