"""SweepDashboard: a Ray Tune sweep running in the background, every trial drawn live.

    >>> from rlkit.widgets.sweep import SweepDashboard
    >>> board = SweepDashboard("PPO", "CartPole-v1", grid={"lr": [1e-3, 3e-4]}, seeds=[0, 1],
    ...                        iterations=20)
    >>> board.start()  # returns at once; curves grow as trials report; Stop ends the sweep
    >>> board          # shows the widget
    >>> board.wait()   # in a later cell: blocks that cell, but Stop still works

The curves are the TrainingDashboard's (rlkit.widgets.plots.render_curves): one panel per
result key, against env steps; the seeds of one grid point are drawn as their mean with a
min..max band over the steps every seed reached (a trial is labelled "<changes> seed <s>").
The picture is redrawn on a timer while trials run, so it never lags behind the results.
The status line counts trials as Tune reports them: started, finished, stopped early, never
started. Tune's and Ray's console output is kept out of the cell (Tune's notebook progress
table is off: it would clear this widget's output from the sweep's thread; Ray's worker logs
are not forwarded: rlkit.scaling.init_local_ray).
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from rlkit.widgets.curves import CurvesPanel
from rlkit.widgets.dashboard import error_html
from rlkit.widgets.waiting import wait_hearing


def trial_label(changes: dict[str, Any], seed: int) -> str:
    """'lr=0.001, gamma=0.9 seed 0': the grid point's changes, then the seed."""
    point = ", ".join(f"{k}={v}" for k, v in changes.items()) or "base config"
    return f"{point} seed {seed}"


def trial_counts(
    states: dict[Any, str], total: int, iterations: int, lengths: dict, ended: bool = False
) -> str:
    """The trials in words: how many started, finished all iterations, ended early, errored.

    Args:
        states: trial key -> "running", "finished" or "error" (never-started trials absent).
        total: how many trials the sweep has.
        iterations: the iterations a trial runs when nothing stops it.
        lengths: trial key -> results reported so far.
        ended: the sweep is over (trials not started then "never started", else "waiting").
    """
    started = len(states)
    running = sum(s == "running" for s in states.values())
    errors = sum(s == "error" for s in states.values())
    ended = [k for k, s in states.items() if s == "finished"]
    full = sum(lengths.get(k, 0) >= iterations for k in ended)
    parts = [f"{started} of {total} trials started"]
    if running:
        parts.append(f"{running} running")
    parts.append(f"{full} ran all {iterations} iterations")
    if len(ended) > full:
        parts.append(f"{len(ended) - full} stopped early")
    if total > started:
        parts.append(f"{total - started} {'never started' if ended else 'waiting'}")
    parts.append(f"{errors} with errors")
    return ", ".join(parts)


class SweepDashboard(widgets.VBox):
    """Live curves of a Tune sweep (``rlkit.scaling.run_sweep``) with a Stop button.

    Args:
        algorithm, env, grid, seeds, iterations, config: as for ``run_sweep``.
        redraw_interval_s: how often the picture is redrawn while trials run (when there are
            new results).

    Attributes:
        runs: trial label -> its results so far (filled from Tune's driver-side callback).
        states: trial label -> "running", "finished" or "error" (trials Tune has started).
        trials: ``run_sweep``'s return value once the sweep has ended (None before).
        error: the sweep's error text ("" when none).
    """

    def __init__(
        self,
        algorithm: str,
        env: Any,
        grid: dict | list | None = None,
        seeds: list[int] = (0,),
        iterations: int = 10,
        config: dict | None = None,
        redraw_interval_s: float = 1.0,
    ):
        from rlkit.scaling.sweeps import grid_variants

        self.sweep = {
            "algorithm": algorithm,
            "env": env,
            "grid": grid,
            "seeds": list(seeds),
            "iterations": iterations,
            "config": config,
        }
        self.total = len(grid_variants(grid)) * len(self.sweep["seeds"])
        self.runs: dict[str, list[dict]] = {}
        self.states: dict[str, str] = {}
        self.configs: dict[str, dict] = {}  # label -> the grid point's changes and the seed
        self.trials: list[dict] | None = None
        self.error = ""
        self.redraw_interval_s = redraw_interval_s
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the runs, and the status line's last word
        self._ended = False  # the sweep's end has written its status
        self._version = self._drawn = 0  # results received / drawn
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop")
        self.stop_button.disabled = True
        self.stop_button.on_click(lambda _: self.stop())
        self.status = widgets.HTML("not started", layout={"flex": "1 1 300px"})
        self.status.add_class("rlkit-sweep-status")
        self.error_box = widgets.HTML("")
        self.plot = CurvesPanel(self.runs, pool_seeds=True, configs=self.configs)
        self.curves = self.plot.image  # the PNG
        self.curves.add_class("rlkit-sweep-curves")
        head = widgets.HBox([self.stop_button, self.status], layout={"align_items": "center"})
        super().__init__([head, self.error_box, self.plot])
        self.add_class("rlkit-sweep")

    # -- running --------------------------------------------------------------------------------
    def start(self) -> threading.Thread:
        """Run the sweep in a background thread; returns the thread."""
        if self.running:
            raise RuntimeError("this SweepDashboard's sweep is still running; stop() it first")
        self._stop_event.clear()
        self._ended = False
        self.stop_button.disabled = False
        self.status.value = f"starting Ray Tune: {self.total} trials…"
        self._thread = threading.Thread(target=self._run, name="rlkit-sweep", daemon=True)
        self._thread.start()
        threading.Thread(target=self._redraw_loop, name="rlkit-sweep-redraw", daemon=True).start()
        return self._thread

    @property
    def running(self) -> bool:
        """True while the sweep's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Ask Tune to stop every trial (they end after their current iteration)."""
        with self._lock:  # the sweep's end writes its status under it too: never overwritten
            if not self.running or self._ended or self._stop_event.is_set():
                return
            self.stop_button.disabled = True
            self.status.value = (
                f"stopping: every trial ends after its current iteration… ({self._counts()})"
            )
            self._stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the sweep has ended (or ``timeout``); returns whether it ended.

        The Stop button still works while a cell waits here (rlkit.widgets.waiting).
        """
        return wait_hearing(self._thread, timeout, [(self.stop_button, self.stop)])

    def _run(self) -> None:
        from rlkit.scaling import run_sweep

        try:
            self.trials = run_sweep(
                **self.sweep,
                on_result=self._on_result,
                stop_event=self._stop_event,
                on_trial=self._on_trial,
            )
            self._end("stopped" if self._stop_event.is_set() else "finished")
            failed = [t for t in self.trials if t["error"]]
            if failed:
                self.error = "; ".join(
                    f"{trial_label(t['changes'], t['seed'])}: {t['error']}" for t in failed
                )
                self.error_box.value = error_html(self.error)
        except Exception as err:  # shown in the widget: a background thread has no cell
            self.error = f"{type(err).__name__}: {err}"
            self.error_box.value = error_html(self.error)
            self._end("failed")
        finally:
            self.stop_button.disabled = True
            self.redraw()

    def _end(self, word: str) -> None:
        with self._lock:
            if self.trials is not None:  # Tune's final word on every trial
                for trial in self.trials:
                    label = trial_label(trial["changes"], trial["seed"])
                    if trial["state"] != "pending":
                        self.states[label] = trial["state"]
            self.status.value = f"{word}: {self._counts(ended=True)}"
            self._ended = True

    def _counts(self, ended: bool = False) -> str:
        lengths = {label: len(results) for label, results in self.runs.items()}
        return trial_counts(self.states, self.total, self.sweep["iterations"], lengths, ended)

    def _on_trial(self, trial: dict[str, Any], state: str) -> None:
        label = trial_label(trial["changes"], trial["seed"])
        with self._lock:
            self.states[label] = state
            self.configs[label] = {**trial["changes"], "seed": trial["seed"]}
            self._write_running()

    def _on_result(self, trial: dict[str, Any], result: dict[str, Any]) -> None:
        label = trial_label(trial["changes"], trial["seed"])
        with self._lock:
            self.runs.setdefault(label, []).append(result)
            self.configs[label] = {**trial["changes"], "seed": trial["seed"]}
            self.states.setdefault(label, "running")  # a result means it started
            self._version += 1
            self._write_running()

    def _write_running(self) -> None:
        """The live status (under the lock; Stop's and the end's words are kept)."""
        if self._ended or self._stop_event.is_set():
            return
        reported = sum(len(r) for r in self.runs.values())
        self.status.value = f"running: {self._counts()}; {reported} results"

    # -- the picture ----------------------------------------------------------------------------
    def _redraw_loop(self) -> None:
        """Redraw every ``redraw_interval_s`` while the sweep runs, whenever results came in."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(max(self.redraw_interval_s, 0.05))
            if self._version != self._drawn:
                self.redraw()

    def redraw(self) -> None:
        """Redraw every trial's curves now (seeds of one grid point as mean + band)."""
        with self._lock:
            version = self._version
        self.plot.redraw()
        self._drawn = version
