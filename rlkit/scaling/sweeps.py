"""Sweeps on Ray Tune: rlkit trainers as Tune trainables, and a helper for the common case.

    from ray import tune
    from rlkit.scaling import rlkit_trainable
    tuner = tune.Tuner(
        rlkit_trainable("PPO"),
        param_space={"env": "CartPole-v1", "lr": tune.grid_search([1e-3, 3e-4]), "seed": 0},
        tune_config=tune.TuneConfig(scheduler=ASHAScheduler(metric="episode_reward_mean",
                                                            mode="max", max_t=20)),
        run_config=tune.RunConfig(stop={"training_iteration": 20}, verbose=0),
    )
    results = tuner.fit()

The param_space is an rlkit config, RLlib style (``env`` inside it). A trial builds the
trainer in its own Ray worker process and calls ``train()`` once per Tune step, so a trial's
results equal those of the same config and seed trained in this process.

``run_sweep("PPO", "CartPole-v1", grid={"lr": [1e-3, 3e-4]}, seeds=[0, 1], iterations=10)``
runs every combination of the grid's values for every seed and returns every trial's
per-iteration results; ``on_result`` sees each result as it arrives (the sweep dashboard's
feed), ``on_trial`` each trial's start and end, and ``stop_event`` (a threading.Event) ends the
sweep early.

Tune's own progress table is off (``SilentReporter``): in a notebook its Jupyter reporter calls
``clear_output`` and ``display`` from the sweep's thread, even at ``verbose=0``, which blanks
whatever cell ran last (the sweep dashboard's, when it is re-run).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from rlkit.scaling import require_ray

require_ray("rlkit_trainable / run_sweep (Ray Tune)")
from ray import tune  # noqa: E402

VARIANT_KEY = "rlkit_variant"  # param_space key holding one grid point's config changes


def _algorithm_class(name: str) -> type:
    # sweeps stands above the algorithms (docs/DESIGN.md's floors: it trains them), so this is
    # a downward import; it is made when a trial asks for its class, not when the module loads.
    from rlkit import algorithms

    cls = getattr(algorithms, name, None)
    if not isinstance(cls, type):
        names = [n for n in algorithms.__all__ if isinstance(getattr(algorithms, n), type)]
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(names)}")
    return cls


def trainer_config(config: dict[str, Any]) -> dict[str, Any]:
    """A trial's param_space config -> the trainer's config (the grid point merged in)."""
    config = dict(config)
    variant = config.pop(VARIANT_KEY, None) or {}
    return {**config, **variant}


def rlkit_trainable(algorithm: str | type) -> type:
    """A Ray Tune trainable class that trains ``algorithm`` ("PPO", ... or a trainer class).

    Each Tune step is one ``train()``; checkpoints are the trainer's own (``save`` /
    ``restore``), so Tune's schedulers that pause and resume trials (PBT) work.
    """
    cls = _algorithm_class(algorithm) if isinstance(algorithm, str) else algorithm

    class RlkitTrainable(tune.Trainable):
        def setup(self, config: dict[str, Any]) -> None:
            if config.get("logger_config") is not None:
                raise ValueError(
                    "a Tune trial keeps Tune's own logs (result.json, progress.csv, events in "
                    "the trial folder); remove logger_config from the sweep's config"
                )
            self.trainer = cls(config=trainer_config(config))

        def step(self) -> dict[str, Any]:
            return self.trainer.train()

        def save_checkpoint(self, checkpoint_dir: str) -> None:
            self.trainer.save(checkpoint_dir)

        def load_checkpoint(self, checkpoint: Any) -> None:
            self.trainer.restore(checkpoint)

        def cleanup(self) -> None:
            self.trainer.stop()

    RlkitTrainable.__name__ = RlkitTrainable.__qualname__ = f"rlkit_{cls.__name__}"
    return RlkitTrainable


def grid_variants(grid: dict[str, list] | list[dict] | None) -> list[dict[str, Any]]:
    """Every grid point as a dict of config changes.

    ``{"lr": [a, b], "gamma": [c]}`` -> ``[{"lr": a, "gamma": c}, {"lr": b, "gamma": c}]``;
    a list of config-change dicts is taken as it is.
    """
    if not grid:
        return [{}]
    if isinstance(grid, list):
        return [dict(v) for v in grid]
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(
                f"sweep grid key '{key}' needs a non-empty list of values; got {values!r}"
            )
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


class SilentReporter(tune.ProgressReporter):
    """A Tune progress reporter that never reports (no table, no clear_output in a notebook)."""

    def should_report(self, trials: list, done: bool = False) -> bool:
        """Never: nothing is printed or displayed."""
        return False

    def report(self, trials: list, done: bool, *sys_info: str) -> None:
        """Nothing to report (never called: ``should_report`` says no)."""
        return None


class _Stop(tune.stopper.Stopper):
    """Tune stopper: a trial ends after ``iterations``; every trial when the event is set."""

    def __init__(self, iterations: int, event: threading.Event):
        self.iterations, self.event = iterations, event

    def __call__(self, trial_id: str, result: dict) -> bool:
        return result["training_iteration"] >= self.iterations or self.event.is_set()

    def stop_all(self) -> bool:
        return self.event.is_set()

    def __getstate__(self) -> dict:  # Tune pickles its run config; an Event cannot travel
        return {"iterations": self.iterations}

    def __setstate__(self, state: dict) -> None:
        self.iterations, self.event = state["iterations"], threading.Event()


def run_sweep(
    algorithm: str,
    env: Any,
    grid: dict[str, list] | list[dict] | None = None,
    seeds: list[int] = (0,),
    iterations: int = 10,
    config: dict[str, Any] | None = None,
    scheduler: Any = None,
    on_result: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    stop_event: threading.Event | None = None,
    storage_path: str | None = None,
    on_trial: Callable[[dict[str, Any], str], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``algorithm`` on ``env`` for every grid point x seed with Ray Tune.

    Args:
        algorithm: "PPO", "A2C", "PG", "DQN" (or a trainer class).
        env: the env spec (a gymnasium id, a registered name...).
        grid: config changes; a dict of lists is crossed, a list of dicts taken as is.
        seeds: every grid point runs once per seed.
        iterations: ``train()`` calls per trial.
        config: the base config under every grid point.
        scheduler: a Tune scheduler (e.g. ASHAScheduler); None runs every trial to the end.
        on_result: called as ``on_result(trial, result)`` for every result as it arrives,
            where ``trial`` is {"variant": index, "changes": {...}, "seed": s}.
        stop_event: set it (from another thread) to stop every trial.
        storage_path: where Tune keeps trial directories (default: a private temporary
            directory, removed when the sweep returns: the results come back in memory).
        on_trial: called as ``on_trial(trial, state)`` when a trial's state changes, with
            state "running" (it started), "finished" (it ended: all iterations, a scheduler's
            or Stop's decision) or "error".

    Returns: one dict per trial, in (variant, seed) order: {"variant", "changes", "seed",
        "results": [result of each iteration], "error": None or the error's text, "state":
        "pending" (never started), "running", "finished" or "error"}.
    """
    from rlkit.scaling.cluster import init_local_ray

    init_local_ray()
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    variants = grid_variants(grid)
    trials: dict[tuple[int, int], dict[str, Any]] = {
        (v, s): {
            "variant": v,
            "changes": variants[v],
            "seed": s,
            "results": [],
            "error": None,
            "state": "pending",
        }
        for v in range(len(variants))
        for s in seeds
    }
    collector = _Collector(trials, variants, on_result, on_trial)
    param_space = {
        **dict(config or {}),
        "env": env,
        VARIANT_KEY: tune.grid_search(variants),
        "seed": tune.grid_search(list(seeds)),
    }
    own_storage = storage_path is None  # rlkit's own temporary directory: removed below
    storage_path = storage_path or tempfile.mkdtemp(prefix="rlkit_sweep_")
    tuner = tune.Tuner(
        rlkit_trainable(algorithm),
        param_space=param_space,
        tune_config=tune.TuneConfig(scheduler=scheduler),
        run_config=tune.RunConfig(
            name=f"rlkit_sweep_{os.getpid()}_{threading.get_ident()}",
            storage_path=storage_path,
            stop=_Stop(iterations, stop_event or threading.Event()),
            callbacks=[collector],
            verbose=0,
            progress_reporter=SilentReporter(),
        ),
    )
    try:
        for result in tuner.fit():
            # A trial a Stop ended before it started has no config (and no error) to report.
            if result.error is not None and result.config is not None:
                key = collector.key_of(result.config)
                trials[key]["error"] = f"{type(result.error).__name__}: {result.error}"
                trials[key]["state"] = "error"
    finally:
        if own_storage:
            shutil.rmtree(storage_path, ignore_errors=True)
    for trial in trials.values():  # a Stop ends the experiment without on_trial_complete
        if trial["state"] == "running":
            trial["state"] = "finished"
    return [trials[k] for k in sorted(trials)]


class _Collector(tune.Callback):
    """Keeps every trial's results in this process (Tune calls it here, in the driver)."""

    def __init__(
        self,
        trials: dict,
        variants: list[dict],
        on_result: Callable | None,
        on_trial: Callable | None = None,
    ):
        self.trials, self.variants = trials, variants
        self.on_result, self.on_trial = on_result, on_trial

    def __getstate__(self) -> dict:  # Tune pickles its run config; the feed stays here
        return {}

    def key_of(self, config: dict[str, Any]) -> tuple[int, int]:
        return self.variants.index(config[VARIANT_KEY]), config["seed"]

    def _set_state(self, trial: Any, state: str) -> dict:
        record = self.trials[self.key_of(trial.config)]
        record["state"] = state
        if self.on_trial is not None:
            self.on_trial(self._public(record), state)
        return record

    @staticmethod
    def _public(record: dict) -> dict:
        return {k: record[k] for k in ("variant", "changes", "seed")}

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._set_state(trial, "running")

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        record = self.trials[self.key_of(trial.config)]
        record["results"].append(dict(result))
        if self.on_result is not None:
            self.on_result(self._public(record), result)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._set_state(trial, "finished")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        record = self._set_state(trial, "error")
        record["error"] = record["error"] or "trial failed (see Tune's error file)"
