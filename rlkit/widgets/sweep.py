"""SweepDashboard: a Ray Tune sweep running in the background, every trial drawn live.

    >>> from rlkit.widgets.sweep import SweepDashboard
    >>> board = SweepDashboard("PPO", "CartPole-v1", grid={"lr": [1e-3, 3e-4]}, seeds=[0, 1],
    ...                        iterations=20)
    >>> board          # shows the widget
    >>> board.start()  # returns at once; curves grow as trials report; Stop ends the sweep

The curves are the TrainingDashboard's (rlkit.widgets.plots.render_curves): one panel per
result key, against env steps; the seeds of one grid point are drawn as their mean with a
min..max band (a trial is labelled "<changes> seed <s>", and the plots group labels that
differ only by the seed). Tune's and Ray's console output is kept out of the cell (Tune runs
with ``verbose=0``; Ray's worker logs are not forwarded: rlkit.scaling.init_local_ray).
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from rlkit.widgets.dashboard import error_html
from rlkit.widgets.plots import curve_keys, group_by_config, render_curves
from rlkit.widgets.training import Throttle


def trial_label(changes: dict[str, Any], seed: int) -> str:
    """'lr=0.001, gamma=0.9 seed 0': the grid point's changes, then the seed."""
    point = ", ".join(f"{k}={v}" for k, v in changes.items()) or "base config"
    return f"{point} seed {seed}"


class SweepDashboard(widgets.VBox):
    """Live curves of a Tune sweep (``rlkit.scaling.run_sweep``) with a Stop button.

    Args:
        algorithm, env, grid, seeds, iterations, config: as for ``run_sweep``.
        redraw_interval_s: the least wall time between two redraws.

    Attributes:
        runs: trial label -> its results so far (filled from Tune's driver-side callback).
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
        self.sweep = {
            "algorithm": algorithm,
            "env": env,
            "grid": grid,
            "seeds": list(seeds),
            "iterations": iterations,
            "config": config,
        }
        self.runs: dict[str, list[dict]] = {}
        self.trials: list[dict] | None = None
        self.error = ""
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the runs, and the status line's last word
        self._ended = False  # the sweep's end has written its status
        self._throttle = Throttle(redraw_interval_s)
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop")
        self.stop_button.disabled = True
        self.stop_button.on_click(lambda _: self.stop())
        self.status = widgets.HTML("not started")
        self.error_box = widgets.HTML("")
        self.curves = widgets.Image(format="png", layout={"width": "100%", "display": "none"})
        super().__init__(
            [widgets.HBox([self.stop_button, self.status]), self.error_box, self.curves]
        )

    def start(self) -> threading.Thread:
        """Run the sweep in a background thread; returns the thread."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this SweepDashboard's sweep is still running; stop() it first")
        self._stop_event.clear()
        self._ended = False
        self.stop_button.disabled = False
        self.status.value = "starting Ray Tune..."
        self._thread = threading.Thread(target=self._run, name="rlkit-sweep", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask Tune to stop every trial (they end after their current iteration)."""
        with self._lock:  # the sweep's end writes its status under it too: never overwritten
            if self._thread is None or not self._thread.is_alive() or self._ended:
                return
            self.status.value = "stopping..."
            self._stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the sweep has ended (or ``timeout``); returns whether it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def _run(self) -> None:
        from rlkit.scaling import run_sweep

        try:
            self.trials = run_sweep(
                **self.sweep, on_result=self._on_result, stop_event=self._stop_event
            )
            failed = [t for t in self.trials if t["error"]]
            with self._lock:
                done = "stopped" if self._stop_event.is_set() else "finished"
                self.status.value = f"{done}: {len(self.trials)} trials, {len(failed)} with errors"
                self._ended = True
            if failed:
                self.error = "; ".join(
                    f"{trial_label(t['changes'], t['seed'])}: {t['error']}" for t in failed
                )
                self.error_box.value = error_html(self.error)
        except Exception as err:  # shown in the widget: a background thread has no cell
            self.error = f"{type(err).__name__}: {err}"
            self.error_box.value = error_html(self.error)
            with self._lock:
                self.status.value = "failed"
                self._ended = True
        finally:
            self.stop_button.disabled = True
            self.redraw()

    def _on_result(self, trial: dict[str, Any], result: dict[str, Any]) -> None:
        with self._lock:
            self.runs.setdefault(trial_label(trial["changes"], trial["seed"]), []).append(result)
            reported = sum(len(r) for r in self.runs.values())
        self.status.value = f"running: {len(self.runs)} trials reported, {reported} results"
        self._throttle.maybe_run(self.redraw)

    def redraw(self) -> None:
        """Redraw every trial's curves now (seeds of one grid point as mean + band)."""
        with self._lock:
            runs = {label: list(results) for label, results in self.runs.items()}
        if not runs:
            return
        groups = group_by_config(list(runs))
        self.curves.value = render_curves(runs, curve_keys(runs), groups=groups)
        self.curves.layout.display = None
