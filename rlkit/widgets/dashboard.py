"""TrainingDashboard: Train / Stop buttons, progress, live curves and run comparison.

    >>> from rlkit.algorithms import PPO
    >>> dash = TrainingDashboard(PPO(env="CartPole-v1"), label="PPO default", iterations=20)
    >>> dash                      # in a notebook: click Train, watch, click Stop, Train again

Training runs in a background thread (see rlkit.widgets.training for why); the curves are
redrawn about once a second (at least every 2 s). The status line always says what is
happening: building, iteration N running, stopping after this iteration, stopped, finished.
A new trainer (``set_trainer``) starts a new run; the earlier runs stay in the plot as
labelled curves (hide or remove them in the legend), so the effect of a swapped component
shows side by side. Each run's config is kept (``configs``), so "mean and band" pools only
runs whose configs are equal but for the seed, and runs on different envs get their own axes.
The progress bar always belongs to the run the status line names: empty for a run that has
not started, full only for one that finished. ``wait()`` blocks a cell but not Stop.
"""

from __future__ import annotations

import html
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch
from threadpoolctl import threadpool_limits

from rlkit.widgets.building import error_text
from rlkit.widgets.curves import CurvesPanel
from rlkit.widgets.plots import curve_keys
from rlkit.widgets.training import Throttle, device_name, train_in_chunks
from rlkit.widgets.waiting import wait_hearing


def error_html(message: str, note: str = "") -> str:
    """The inline error box: the message in red, no traceback."""
    extra = f"<br><i>{html.escape(note)}</i>" if note else ""
    return (
        '<div style="color:#b00020;white-space:pre-wrap;font-family:monospace">'
        f"⚠ {html.escape(message)}{extra}</div>"
    )


class TrainingDashboard(widgets.VBox):
    """Train / Stop, a progress bar, a status line, live curves of every run, the device.

    Args:
        trainer: an rlkit Algorithm, or None to give one later (``set_trainer`` or
            ``set_trainer_factory``).
        label: the run's name in the comparison plot.
        iterations: how many ``train()`` calls one click on Train asks for.
        redraw_interval_s: the least wall time between two redraws of the curves (however
            long a redraw takes, the next is due 1.5 s after the last one started, and comes
            at the end of the iteration running then).

    Attributes:
        runs: label -> list of train() results, for every run (the current one included).
        configs: label -> the run's trainer config (what pooling and per-env axes read).
        trainer, label: the current run.
        state: "idle", "ready", "blocked", "building", "running", "stopping", "stopped",
            "finished" or "failed"; the status line says the same in words.
        error: the last training error's text ("" when none).
        plot: the CurvesPanel (legend with toggles and Remove, smoothing, seeds pooled).
    """

    def __init__(
        self,
        trainer: Any = None,
        label: str | None = None,
        iterations: int = 10,
        redraw_interval_s: float = 1.0,
    ):
        self.runs: dict[str, list[dict]] = {}
        self.configs: dict[str, dict] = {}
        self.trainer, self.label, self.error, self.state = None, "", "", "idle"
        self._blocked = ""
        self._factory: Callable[[], Any] | None = None
        self._factory_label = ""
        self._owns_trainer = False
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        # Stop (the kernel's thread) and the end of a run (the training thread) both write the
        # status: under this lock, so a run that ends as Stop is pressed cannot be left showing
        # "stopping…" (Stop writes its status before it sets the event the run ends on).
        self._state_lock = threading.RLock()
        # Due 1.5 s after the last one started: drawn at the next iteration's end, so within 2 s
        # unless one iteration takes longer than 0.5 s.
        self._throttle = Throttle(redraw_interval_s, max_interval_s=1.5)
        self._started: list[Callable] = []
        self._finished: list[Callable] = []
        self.iterations = widgets.BoundedIntText(
            value=iterations,
            min=1,
            max=100_000,
            description="iterations",
            layout={"width": "180px"},
        )
        self.train_button = widgets.Button(description="Train", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop")
        self.stop_button.disabled = True
        self.progress = widgets.IntProgress(value=0, min=0, max=iterations, description="progress")
        self.status = widgets.HTML("no run yet", layout={"width": "100%"})
        self.device = widgets.HTML(self._device_text())
        self.error_box = widgets.HTML("", layout={"width": "100%"})
        self.plot = CurvesPanel(self.runs, configs=self.configs)
        self.curves = self.plot.image  # the PNG, e.g. for IPython.display.Image(curves.value)
        self.status.add_class("rlkit-status")  # CSS hook for the browser test
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        controls = widgets.HBox(
            [self.train_button, self.stop_button, self.iterations, self.device],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        super().__init__([controls, self.progress, self.status, self.error_box, self.plot])
        if trainer is not None:
            self.set_trainer(trainer, label or type(trainer).__name__)

    # -- runs -------------------------------------------------------------------------------
    def set_trainer(self, trainer: Any, label: str, owned: bool = False) -> None:
        """Start a new run with ``trainer``; earlier runs stay in ``runs`` and in the plot.

        Args:
            trainer: the trainer (an rlkit Algorithm) whose ``train()`` the next Train calls.
            label: the run's name in the plot; a number is added if the name is taken.
            owned: the dashboard built the trainer, so it closes its envs when replaced.
        """
        self._require_idle("switch trainers")
        self._new_run(trainer, label, owned)
        self._set_state("ready", f"run <b>{html.escape(self.label)}</b>: press Train")
        self.redraw()

    def _new_run(self, trainer: Any, label: str, owned: bool) -> None:
        if self._owns_trainer and self.trainer is not None and self.trainer is not trainer:
            self.trainer.stop()
        self._factory = None
        self.trainer, self._owns_trainer = trainer, owned
        self.label = self._unique(label)
        self.runs[self.label] = []
        self.configs[self.label] = dict(getattr(trainer, "config", None) or {})
        self.device.value = self._device_text()
        self._reset_progress()

    def _reset_progress(self, total: int | None = None) -> None:
        """An empty bar for a run that has not started (never the last run's full one)."""
        self.progress.max, self.progress.value = total or self.iterations.value, 0
        self.progress.bar_style = ""
        self.progress.description = f"0 / {self.progress.max}"

    def set_trainer_factory(self, factory: Callable[[], Any], label: str) -> None:
        """Build the next run's trainer only when Train is pressed (a picker change is cheap).

        Also lifts a ``block`` and clears the previous run's error: the components changed.
        """
        self._require_idle("switch trainers")
        self._factory, self._factory_label, self._blocked = factory, label, ""
        self.error, self.error_box.value = "", ""
        self.train_button.disabled = False
        self.train_button.tooltip = ""
        self._reset_progress()
        self._set_state("ready", f"next Train starts run <b>{html.escape(label)}</b>")

    def block(self, reason: str) -> None:
        """Disable Train until the next ``set_trainer_factory`` (an editor has an error)."""
        self._blocked = reason
        if not self.running:
            self.train_button.disabled = True
            self.train_button.tooltip = reason
            self._set_state("blocked", f"⚠ Train is off: {html.escape(reason)}")

    @property
    def next_label(self) -> str:
        """The name of the run the next Train starts (or continues)."""
        return self._factory_label if self._factory is not None else self.label

    @property
    def stale(self) -> bool:
        """True when the next Train starts a new run from the factory."""
        return self._factory is not None

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.status.value = f"<span data-state='{state}'>{text}</span>"

    def _unique(self, label: str) -> str:
        n, unique = 2, label
        while unique in self.runs:
            unique, n = f"{label} ({n})", n + 1
        return unique

    def _device_text(self) -> str:
        if self.trainer is not None:
            device = getattr(self.trainer, "device", "cpu")
        else:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        return f"device: <b>{html.escape(device_name(device))}</b>"

    def _require_idle(self, what: str) -> None:
        if self.running:
            raise RuntimeError(f"cannot {what} while training runs; press Stop first")

    # -- training -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while the training thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def on_start(self, callback: Callable[[TrainingDashboard], None]) -> None:
        """Call ``callback(dashboard)`` when training starts (in the caller's thread)."""
        self._started.append(callback)

    def on_finished(self, callback: Callable[[TrainingDashboard], None]) -> None:
        """Call ``callback(dashboard)`` when training ends (in the training thread)."""
        self._finished.append(callback)

    def train(self, iterations: int | None = None) -> threading.Thread | None:
        """What the Train button does: start (or continue) the run in a background thread.

        Returns the thread, or None when nothing started (already running, Train blocked by
        an editor's error, or the trainer could not be built: the error is then shown inline
        and kept in ``error``).
        """
        if self.running or self._blocked:
            return None
        self.error, self.error_box.value = "", ""
        n = int(iterations or self.iterations.value)
        if self._factory is not None:
            self._reset_progress(n)
            self._set_state("building", f"building run <b>{html.escape(self._factory_label)}</b>…")
            try:
                trainer = self._factory()
            except Exception as err:
                self._fail(error_text(err), "the trainer could not be built")
                return None
            self._new_run(trainer, self._factory_label, owned=True)  # no "press Train": it was
        if self.trainer is None:
            self._fail("no trainer yet", "give one with set_trainer(trainer, label)")
            return None
        self._reset_progress(n)
        self._stop_event.clear()
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.plot.protected = {self.label}
        self._set_state("running", self._running_text(len(self.runs[self.label]) + 1))
        for callback in self._started:
            callback(self)
        # OpenBLAS sized from this thread: limited only inside the training thread (as
        # train() does), its pool makes a PPO iteration there 5-15x slower than here.
        budget = getattr(getattr(self.trainer, "policy", None), "threads", None)
        threads = budget.learner() if budget is not None else 1
        self._blas_limit = threadpool_limits(threads, user_api="blas")
        self._thread = threading.Thread(target=self._run, args=(n,), daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """What the Stop button does: end the run after the current iteration."""
        with self._state_lock:
            if not self.running or self._stop_event.is_set() or self.state != "running":
                return  # nothing running, already stopping, or the run has just ended
            self.stop_button.disabled = True
            self._set_state(
                "stopping",
                f"run <b>{html.escape(self.label)}</b> · stopping after this iteration…"
                f"{self._last_text()}",
            )
            self._stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training thread ends; returns False on timeout.

        The Stop button still works while a cell waits here (rlkit.widgets.waiting).
        """
        wait_hearing(self._thread, timeout, [(self.stop_button, self.stop)])
        return not self.running

    def _run(self, iterations: int) -> None:
        results = self.runs[self.label]
        start, done = time.perf_counter(), 0
        self._throttle.wait_first()

        def before(_: int) -> None:
            with self._state_lock:
                if not self._stop_event.is_set():
                    self._set_state("running", self._running_text(len(results) + 1))

        def on_result(result: dict) -> None:
            nonlocal done
            results.append(result)
            done += 1
            self.progress.value, self.progress.description = done, f"{done} / {iterations}"
            self._seconds_per_iteration = (time.perf_counter() - start) / done
            self._throttle.maybe_run(self.redraw)

        try:
            train_in_chunks(self.trainer, self._stop_event, iterations, on_result, before)
            end = "stopped" if done < iterations else "finished"
            verb = f"stopped after {done} of {iterations}" if done < iterations else "finished"
            self.progress.bar_style = "warning" if done < iterations else "success"
            with self._state_lock:
                self._set_state(
                    end,
                    f"run <b>{html.escape(self.label)}</b> · <b>{verb}</b>"
                    f"{'' if done < iterations else f' {done}'} iterations"
                    f"{self._last_text()} · press Train to continue",
                )
        except Exception as err:  # shown inline; the trainer stays usable
            with self._state_lock:
                self._fail(error_text(err), "training stopped; fix the cause and press Train")
        finally:
            self._blas_limit.restore_original_limits()
            self.plot.protected = set()
            self._throttle.maybe_run(self.redraw, force=True)
            self.train_button.disabled, self.stop_button.disabled = bool(self._blocked), True
            for callback in self._finished:
                try:
                    callback(self)
                except Exception as err:
                    self._fail(error_text(err))

    def _running_text(self, iteration: int) -> str:
        return (
            f"run <b>{html.escape(self.label)}</b> · iteration {iteration} running…"
            f"{self._last_text()}"
        )

    def _last_text(self) -> str:
        """The last result in words: iteration, env steps, reward, seconds per iteration."""
        results = self.runs.get(self.label) or []
        if not results:
            return ""
        result = results[-1]
        reward = result.get("episode_reward_mean", float("nan"))
        reward_text = "no episode finished yet" if reward != reward else f"reward {reward:.1f}"
        speed = getattr(self, "_seconds_per_iteration", None)
        return (
            f" · last: iteration {result['training_iteration']},"
            f" {result['timesteps_total']:,} env steps, {reward_text}"
            + (f", {speed:.2f} s/iteration" if speed else "")
        )

    def _fail(self, message: str, note: str = "") -> None:
        self.progress.bar_style = "danger"
        self.error = message
        self.error_box.value = error_html(message, note)
        self._set_state("failed", "training stopped by an error (below)")

    def load_run(self, folder: str, label: str | None = None) -> str:
        """Add a past run from its folder (result.json or progress.csv) to the comparison.

        Folders written by ``logger_config`` or ``python -m rlkit train --out``, or Tune
        trial folders (rlkit.records.runs). Returns the run's label (the folder's name, or
        ``label``; a number is added if the name is taken).
        """
        from rlkit.records.runs import load_results, run_label

        results = load_results(folder)
        name = self._unique(label or run_label(folder))
        self.runs[name] = results
        params = os.path.join(folder, "params.json")  # the run's config, when it was logged
        try:
            with open(params, encoding="utf-8") as f:
                self.configs[name] = json.load(f)
        except (OSError, ValueError):
            pass  # not known: the run is never pooled with others
        self.redraw()
        return name

    # -- pictures -----------------------------------------------------------------------------
    def curve_keys(self) -> list[str]:
        """The result keys plotted: return, losses and entropy, as the runs report them."""
        return curve_keys({label: list(results) for label, results in self.runs.items()})

    def redraw(self) -> None:
        """Redraw the curves of every run now."""
        self.plot.redraw()
