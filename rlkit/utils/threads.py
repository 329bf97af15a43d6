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
"""

from __future__ import annotations

import contextlib
import sys
import threading

import torch
from threadpoolctl import ThreadpoolController

_local = threading.local()  # depth of limited calls in this thread
_cache: dict = {"modules": -1, "controller": None}


def _controller() -> ThreadpoolController:
    """The threadpoolctl controller, rebuilt when Python has imported modules since."""
    loaded = len(sys.modules)
    if _cache["modules"] != loaded:
        _cache["controller"] = ThreadpoolController()
        _cache["modules"] = loaded
    return _cache["controller"]


def check_num_threads(value: object) -> int:
    """The ``num_threads`` config value, or ValueError naming the key and the fix."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"config key 'num_threads' takes a positive int (threads for torch, BLAS and "
            f"OpenMP while rlkit runs; 1 is fastest for small models); got {value!r}"
        )
    return value


@contextlib.contextmanager
def limit_threads(num_threads: int, blas: bool = True):
    """Run the block with every thread pool (torch, BLAS, OpenMP) at ``num_threads``.

    The user's sizes are restored when the block ends, also on an exception. Re-entering in
    the same thread (an rlkit call made inside another) costs one attribute read.

    Args:
        num_threads: threads per pool inside the block (>= 1).
        blas: also limit the BLAS and OpenMP pools (False: torch's alone, for work too
            small to use a second thread, see the module docstring).
    """
    depth = getattr(_local, "depth", 0)
    if depth:
        _local.depth = depth + 1
        try:
            yield
        finally:
            _local.depth -= 1
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
