"""Thread pools while rlkit trains or acts: ``num_threads`` for torch, BLAS and OpenMP alike.

numpy's BLAS (OpenBLAS) and OpenMP start as many threads as the machine has cores. For the
small matrices of RL that is a loss even on a quiet machine, and a large one on a shared
machine (JupyterHub, Binder, a laptop with a browser open): when another process holds a core,
the pool's threads spin waiting for one another, and one PPO iteration takes 5-15x longer.
Setting ``OMP_NUM_THREADS=1`` before starting Python fixes it, but also changes the user's own
numpy, and few users know to do it.

So rlkit limits the pools itself, only while one of its calls runs (``Algorithm.train``,
``Policy.compute_actions``, a rollout), with threadpoolctl (the library scikit-learn uses for
the same job), and puts back whatever the user had when the call returns. Entering the limit
reads each pool's size (a C call) and changes only the pools that differ; nested calls (a
rollout inside ``train()``) skip it entirely. The controller that finds the loaded libraries
(~0.7 ms) is built once and rebuilt only when new modules were imported since (a newly loaded
library might bring its own pool).

The single-action path (``compute_single_action``, ``Policy.act``) limits torch's pool alone
(``blas=False``): one observation's matrix products are far below the size at which OpenBLAS
starts a second thread, so its pool size cannot matter there, while changing the BLAS and
OpenMP pools and back cost 6 us per call on a quiet 2-core machine and ~60 us on a loaded one
(more than the whole call: 45 us quiet).

``num_threads="auto"`` (the default) sizes the pools from the machine and the work
(``ThreadBudget``). The machine: the CPUs this process may run on (``sched_getaffinity``), the
cgroup's CPU quota (``/sys/fs/cgroup/cpu.max``: a container limited to 1.5 CPUs gets 1) and
what other processes keep busy (``/proc/stat`` minus this process's own CPU time, over the
last ``train()`` iteration; 0.1 s of it when a trainer starts; the 1-minute load average where
there is no ``/proc/stat``), read again at every ``train()``. The work: each call gets one
thread per ``MIN_WORK_PER_THREAD`` multiply-adds it does, up to the free CPUs. A 64-64 MLP's
learner step (3.5 million) and a conv net's forward on 8 frames (30 million) stay on one
thread; a conv net's 256-row learner step (3 billion) and its value pass get every free CPU.
An explicit ``num_threads`` is used as it is, for every call.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from threadpoolctl import ThreadpoolController

AUTO = "auto"
# Multiply-adds per thread below which a call is split no further. Measured on 2 cores
# (benchmarks/README.md, "Kernels"): a second thread ran a 64-64 MLP's 256-row step (3.5M) at
# 0.57-0.88x the speed of one and a Nature CNN's (7G with the backward) at up to 1.8x; on a
# loaded machine 2 threads on 8 frames (30M) took 4x longer than 1.
MIN_WORK_PER_THREAD = 100e6

_local = threading.local()  # depth of limited calls in this thread
_cache: dict = {"modules": -1, "controller": None}


def _controller() -> ThreadpoolController:
    """The threadpoolctl controller, rebuilt when Python has imported modules since."""
    loaded = len(sys.modules)
    if _cache["modules"] != loaded:
        _cache["controller"] = ThreadpoolController()
        _cache["modules"] = loaded
    return _cache["controller"]


def check_num_threads(value: object) -> int | str:
    """The ``num_threads`` config value, or ValueError naming the key and the fix."""
    if value == AUTO:
        return AUTO
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"config key 'num_threads' takes 'auto' or a positive int (threads for torch, "
            f"BLAS and OpenMP while rlkit runs; 'auto' sizes them from the free CPUs and the "
            f"work); got {value!r}"
        )
    return value


@contextlib.contextmanager
def _nested_limit(num_threads: int, depth: int):
    """A limit inside a limit: torch's pool alone changes, when this call wants another size."""
    outer = torch.get_num_threads()
    if outer != num_threads:
        torch.set_num_threads(num_threads)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth -= 1
        if outer != num_threads:
            torch.set_num_threads(outer)


@contextlib.contextmanager
def limit_threads(num_threads: int, blas: bool = True):
    """Run the block with every thread pool (torch, BLAS, OpenMP) at ``num_threads``.

    The user's sizes are restored when the block ends, also on an exception. Re-entering in
    the same thread (an rlkit call made inside another) changes torch's pool alone, and only
    where the inner call asks for another size (a rollout's one-thread steps inside a
    ``train()`` whose learner uses two).

    Args:
        num_threads: threads per pool inside the block (>= 1).
        blas: also limit the BLAS and OpenMP pools (False: torch's alone, for work too
            small to use a second thread, see the module docstring).
    """
    depth = getattr(_local, "depth", 0)
    if depth:
        with _nested_limit(num_threads, depth):
            yield
        return
    torch_before = torch.get_num_threads()
    libs = _controller().lib_controllers if blas else []
    before = [lib.num_threads for lib in libs]  # read all first: torch's setter moves OpenMP
    if torch_before != num_threads:
        torch.set_num_threads(num_threads)
    for lib, n in zip(libs, before):
        if n != num_threads:
            lib.set_num_threads(num_threads)
    _local.depth = 1
    try:
        yield
    finally:
        _local.depth = 0
        if torch_before != num_threads:
            torch.set_num_threads(torch_before)
        if torch_before != num_threads or any(n != num_threads for n in before):
            for lib, n in zip(libs, before):  # torch's setter may have moved OpenMP back too
                if lib.num_threads != n:
                    lib.set_num_threads(n)


# -- num_threads="auto": what the machine has free, and what the work is worth ------------------
@dataclass(frozen=True)
class Machine:
    """What this process may use now.

    Attributes:
        cpus: CPUs it may run on (``os.sched_getaffinity``).
        quota: its cgroup's CPU quota in CPUs (``cpu.max``), None where there is none.
        busy: CPUs other processes kept busy lately (0.0 on an idle machine).
        source: where ``busy`` comes from, in words.
    """

    cpus: int
    quota: float | None
    busy: float
    source: str

    def free(self) -> int:
        """Whole CPUs free for this process: ``min(cpus, floor(quota)) - busy``, rounded, >= 1."""
        limit = self.cpus if self.quota is None else min(self.cpus, max(1, int(self.quota)))
        return max(1, min(limit, math.floor(self.cpus - self.busy + 0.5)))

    def describe(self) -> str:
        """e.g. '2 CPUs, no quota, 0.1 busy with other work (/proc/stat ...)'."""
        quota = "no quota" if self.quota is None else f"cgroup quota {self.quota:g} CPUs"
        return f"{self.cpus} CPUs, {quota}, {self.busy:.1f} busy with other work ({self.source})"


def decide_threads(work: float, machine: Machine) -> tuple[int, str]:
    """Threads for one call of ``work`` multiply-adds on ``machine``, and why.

    One per ``MIN_WORK_PER_THREAD`` multiply-adds (at least 1), at most ``machine.free()``.

    Example:
        >>> decide_threads(3e9, Machine(cpus=2, quota=None, busy=0.1, source="test"))
        (2, '2 of 2 CPUs free')
    """
    free = machine.free()
    by_work = _by_work(work)
    if by_work < free:
        return by_work, (
            f"{work / 1e6:,.1f}M multiply-adds per call: one thread per "
            f"{MIN_WORK_PER_THREAD / 1e6:.0f}M (a smaller share costs more to hand out than "
            f"it saves)"
        )
    return free, f"{free} of {machine.cpus} CPUs free"


def _by_work(work: float) -> int:
    return max(1, int(work // MIN_WORK_PER_THREAD))


def cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> float | None:
    """The cgroup v2 CPU quota in CPUs (``"200000 100000"`` -> 2.0); None for ``max`` or none."""
    try:
        with open(path) as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _affinity() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # macOS, Windows
        return set(range(os.cpu_count() or 1))


def _stat_busy(cpus: set[int], path: str = "/proc/stat") -> float | None:
    """Busy seconds of ``cpus`` since boot, from /proc/stat; None where it cannot be read."""
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError:
        return None
    ticks = 0
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
            continue
        values = [int(v) for v in fields]
        ticks += sum(values[:8]) - values[3] - values[4]  # all but idle and iowait
    return ticks / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


class CpuMeter:
    """What other processes keep busy: the CPUs' busy time minus this process's, per second.

    Args:
        read_busy: busy seconds of this process's CPUs since boot (None: not available).
        read_own: this process's CPU seconds (all its threads).
        clock: wall seconds.
        load_average: the 1-minute load average (used without ``read_busy``).
    """

    def __init__(
        self,
        read_busy: Callable[[], float | None] | None = None,
        read_own: Callable[[], float] = _own_cpu,
        clock: Callable[[], float] = time.monotonic,
        load_average: Callable[[], float] = lambda: os.getloadavg()[0],
        sleep: Callable[[float], Any] = time.sleep,
    ):
        cpus = _affinity()
        self.read_busy = read_busy or (lambda: _stat_busy(cpus))
        self.read_own, self.clock, self.load_average = read_own, clock, load_average
        self.sleep = sleep
        self._mark = self._sample()
        self._last: tuple[float, str] | None = None

    def _sample(self) -> tuple[float | None, float, float]:
        return self.read_busy(), self.read_own(), self.clock()

    def busy(self, min_window: float = 0.1) -> tuple[float, str]:
        """CPUs others kept busy since the last call, and where the figure comes from.

        The first call waits until ``min_window`` seconds have passed since the meter was
        made; a later call within ``min_window`` of the previous one returns its figure.
        """
        busy0, own0, t0 = self._mark
        if busy0 is None:
            return self.load_average(), "1-minute load average"
        elapsed = self.clock() - t0
        if elapsed < min_window:
            if self._last is not None:
                return self._last
            self.sleep(min_window - elapsed)
        busy1, own1, t1 = self._mark = self._sample()
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / max(t1 - t0, 1e-9)
        where = f"/proc/stat over the last {t1 - t0:.1f} s, this process's own CPU time excluded"
        self._last = (others, where)
        return self._last


def read_machine(meter: CpuMeter) -> Machine:
    """The Machine now: affinity, cgroup quota, and ``meter``'s busy CPUs."""
    busy, source = meter.busy()
    return Machine(cpus=len(_affinity()), quota=cpu_quota(), busy=busy, source=source)


class ThreadBudget:
    """What ``num_threads`` gives each call: an explicit int, or the "auto" decision.

    Args:
        setting: ``"auto"`` or an int >= 1 (the config key).
        macs_per_row: the model's multiply-adds for one row's forward (``count_macs``).
        learner_rows: rows of a gradient step (a minibatch); its work decides whether the
            machine is read at all (a 64-64 MLP's never shares out, so it never is).
        acting_rows: rows of an action step (the number of envs).
        machine: reads the Machine (``refresh``); default: affinity, quota and /proc/stat.
    """

    def __init__(
        self,
        setting: int | str,
        macs_per_row: float,
        learner_rows: int = 256,
        acting_rows: int = 1,
        machine: Callable[[], Machine] | None = None,
    ):
        self.setting = check_num_threads(setting)
        self.macs_per_row = float(macs_per_row)
        self.learner_rows, self.acting_rows = int(learner_rows), int(acting_rows)
        self._read = machine
        self.machine: Machine | None = None
        self._free = 1
        self.refresh()

    def resize(self, learner_rows: int, acting_rows: int) -> None:
        """Set the rows of a gradient step and of an action step (a trainer knows them)."""
        self.learner_rows, self.acting_rows = int(learner_rows), int(acting_rows)
        self.refresh()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a Ray runner's copy of the policy) without the machine reader."""
        return {**self.__dict__, "_read": None}

    @property
    def may_share(self) -> bool:
        """Whether "auto" could give a gradient step more than one thread (else it is 1)."""
        work = self.macs_per_row * 3 * self.learner_rows
        return self.setting == AUTO and _by_work(work) > 1

    def refresh(self) -> None:
        """Read the machine again (``"auto"`` and work that may use more than one thread)."""
        if self.may_share:
            if self._read is None:
                meter = CpuMeter()
                self._read = lambda: read_machine(meter)
            self.machine = self._read()
            self._free = self.machine.free()

    def for_rows(self, rows: int, backward: bool = False) -> int:
        """Threads for a call on ``rows`` rows (a gradient step: ``backward`` True, 3x work)."""
        if self.setting != AUTO:
            return self.setting
        return min(self._free, _by_work(self.macs_per_row * rows * (3 if backward else 1)))

    def learner(self) -> int:
        """Threads of a gradient step on ``learner_rows`` rows."""
        return self.for_rows(self.learner_rows, backward=True)

    def acting(self) -> int:
        """Threads of an action step on ``acting_rows`` rows."""
        return self.for_rows(self.acting_rows)

    def describe(self) -> str:
        """One line for explain() and results: the counts chosen and why."""
        learner_rows, acting_rows = self.learner_rows, self.acting_rows
        if self.setting != AUTO:
            return f"{self.setting} (set by num_threads)"
        learner, acting = self.learner(), self.acting()
        if self.machine is None:
            return (
                f"1 (auto: the model's {self.macs_per_row / 1e6:,.2f}M multiply-adds per row "
                f"make a {learner_rows}-row gradient step too small to share out; threads "
                f"would cost more than they give)"
            )
        return (
            f"{learner} for a {learner_rows}-row gradient step, {acting} for a "
            f"{acting_rows}-row action step (auto: {self.macs_per_row / 1e6:,.2f}M "
            f"multiply-adds per row, one thread per {MIN_WORK_PER_THREAD / 1e6:.0f}M, at most "
            f"the {self._free} free of {self.machine.describe()})"
        )


def count_macs(model: torch.nn.Module, run: Callable[[], Any], rows: int = 1) -> float:
    """Multiply-adds per row of ``run()`` (a forward on ``rows`` rows) in ``model``'s layers.

    Counts ``nn.Linear``, ``nn.Conv1d/2d/3d`` and ``nn.LSTM/GRU/RNN`` layers (what rlkit's models
    are made of); other arithmetic a custom model does is not seen.
    """
    total = [0.0]

    def hook(module: torch.nn.Module, inputs: Any, output: Any) -> None:
        out = output[0] if isinstance(output, tuple) else output
        if isinstance(module, torch.nn.Linear):
            total[0] += out.numel() * module.in_features
        elif isinstance(module, torch.nn.modules.conv._ConvNd):
            kernel = math.prod(module.kernel_size) * module.in_channels // module.groups
            total[0] += out.numel() * kernel
        elif isinstance(module, torch.nn.RNNBase):
            gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
            width = module.input_size + module.hidden_size
            total[0] += out.numel() / module.hidden_size * gates * width * module.hidden_size

    kinds = (torch.nn.Linear, torch.nn.modules.conv._ConvNd, torch.nn.RNNBase)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return total[0] / rows
