"""Ray on this machine: a quiet local instance, and a multi-node test cluster on loopback.

Everything started here listens on 127.0.0.1 only (no traffic to any other address):

- ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps Ray from replacing "127.0.0.1" by the
  machine's outward address when it resolves a local address (it asks the OS which interface
  routes to the internet), so the driver connects over loopback.
- ``RAY_USAGE_STATS_ENABLED=0``: no usage report leaves the machine.
- The dashboard is off; object stores are small (default 200 MB per node).
- The Ray processes get a stand-in for ``rfc3987_syntax`` that fails to import: jsonschema,
  imported by every Ray process, otherwise builds an Earley parser of the IRI grammar at
  import (seconds of CPU on a busy machine), which on 2 shared cores pushed the dashboard
  agent past the raylet's fixed 15 s start-up wait (ray issue 65983). jsonschema imports it
  under ``suppress(ImportError)`` and Ray never checks IRI strings.

``LocalCluster`` (a head without CPUs plus worker nodes of 1 CPU each) is what the tests and
benchmarks run on; it records every process it starts and stops exactly those.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sys
import tempfile
import time
from typing import Any

from rlkit.scaling import require_ray

LOOPBACK = "127.0.0.1"
_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
_STUB_SOURCE = 'raise ImportError("rlkit: rfc3987_syntax is not imported in Ray processes")\n'


def _prepare_environment() -> Any:
    """Set the loopback/quiet variables (before ray is imported where possible); return ray."""
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    already = "ray" in sys.modules
    ray = require_ray("rlkit.scaling")
    if already:  # imported before us: the constant was read at import, set it the same way
        ray._private.ray_constants.ENABLE_RAY_CLUSTER = False
    return ray


@contextlib.contextmanager
def _fast_ray_imports():
    """PYTHONPATH with the rfc3987_syntax stand-in, for the Ray processes started inside."""
    stub_root = os.path.join(tempfile.gettempdir(), "rlkit_ray_import_stubs")
    os.makedirs(os.path.join(stub_root, "rfc3987_syntax"), exist_ok=True)
    with open(os.path.join(stub_root, "rfc3987_syntax", "__init__.py"), "w") as f:
        f.write(_STUB_SOURCE)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = stub_root + (os.pathsep + old if old else "")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def init_local_ray(num_cpus: int | None = None, object_store_mb: int = 200) -> Any:
    """Start Ray on this machine: loopback only, dashboard off, quiet; returns ``ray``.

    Always a new instance of this process's own (``address="local"``): a plain ``ray.init()``
    would join any Ray instance it finds running on the machine, e.g. another user's. Does
    nothing when Ray is already initialised. Ray's logs are kept out of the notebook.
    """
    ray = _prepare_environment()
    if ray.is_initialized():
        return ray
    with _fast_ray_imports():
        ray.init(
            address="local",  # a new instance: never join another process's cluster
            num_cpus=num_cpus,
            include_dashboard=False,
            object_store_memory=object_store_mb * 2**20,
            log_to_driver=False,
            logging_level="ERROR",
            configure_logging=True,
        )
    return ray


class LocalCluster:
    """A Ray cluster of several nodes on this machine, every process bound to 127.0.0.1.

    Args:
        num_nodes: worker nodes besides the head.
        cpus_per_node: CPUs each worker node offers (the head offers ``head_cpus``).
        head_cpus: 0 keeps work off the head, as on a real cluster's head.
        object_store_mb: object store of each node.
        attempts: start-up tries (a start can crash under load: ray issue 65983).

    Use as a context manager or call ``start()`` / ``shutdown()``.
    """

    def __init__(
        self,
        num_nodes: int = 2,
        cpus_per_node: int = 1,
        head_cpus: int = 0,
        object_store_mb: int = 200,
        attempts: int = 2,
    ):
        self.num_nodes, self.cpus_per_node, self.head_cpus = num_nodes, cpus_per_node, head_cpus
        self.object_store_mb, self.attempts = object_store_mb, attempts
        self.cluster = None
        self.nodes: list[Any] = []  # worker nodes, in start order
        self.seen_pids: set[int] = set()
        self.start_failures: list[str] = []

    def _node_args(self, cpus: int) -> dict[str, Any]:
        return {
            "num_cpus": cpus,
            "node_ip_address": LOOPBACK,
            "include_dashboard": False,
            "object_store_memory": self.object_store_mb * 2**20,
        }

    def start(self) -> LocalCluster:
        """Start the head and the worker nodes and connect this process (retries on a crash)."""
        ray = _prepare_environment()
        from ray.cluster_utils import Cluster

        for attempt in range(self.attempts):
            try:
                with _fast_ray_imports():
                    self.cluster = Cluster(
                        initialize_head=True,
                        head_node_args=self._node_args(self.head_cpus),
                        shutdown_at_exit=True,
                    )
                    self._record_pids()
                    for _ in range(self.num_nodes):
                        self.add_node()
                ray.init(address=self.cluster.address, log_to_driver=False, logging_level="ERROR")
                self._record_pids()
                return self
            except Exception as err:  # a start-up crash: stop what started, try again
                self.start_failures.append(f"attempt {attempt + 1}: {type(err).__name__}: {err}")
                self._stop_cluster()
                if attempt + 1 == self.attempts:
                    raise
                time.sleep(2.0)
        return self

    def add_node(self) -> Any:
        """Start one more worker node; returns Ray's node object."""
        with _fast_ray_imports():
            node = self.cluster.add_node(**self._node_args(self.cpus_per_node))
        self.nodes.append(node)
        self._record_pids()
        return node

    def remove_node(self, node: Any) -> None:
        """Kill a worker node's processes (as when a machine is lost)."""
        self._record_pids()
        self.cluster.remove_node(node, allow_graceful=False)
        self.nodes.remove(node)

    @property
    def head_node_id(self) -> str:
        """Node id of the head."""
        return self.cluster.head_node.node_id

    @property
    def node_ids(self) -> list[str]:
        """Node ids of the worker nodes, in start order."""
        return [n.node_id for n in self.nodes]

    def _record_pids(self) -> set[int]:
        """Every process of every node (and their children: workers, agents), remembered."""
        import psutil

        pids = set()
        for node in self.cluster.list_all_nodes() if self.cluster else []:
            for infos in node.all_processes.values():
                for info in infos:
                    pids.add(info.process.pid)
        for pid in list(pids):
            with contextlib.suppress(psutil.Error):
                pids |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
        self.seen_pids |= pids
        return pids

    def sockets_off_loopback(self) -> list[str]:
        """Listening or connected sockets of the Ray processes on any non-loopback address."""
        import psutil

        pids = self._record_pids() | {os.getpid()}
        bad = []
        for conn in psutil.net_connections(kind="inet"):
            if conn.pid not in pids:
                continue
            for end in (conn.laddr, conn.raddr):
                if end and not _is_loopback(end.ip):
                    bad.append(f"pid {conn.pid} {conn.status} {conn.laddr} -> {conn.raddr}")
        return bad

    def alive_pids(self) -> list[int]:
        """Processes this cluster started that are still running (zombies count as gone)."""
        import psutil

        alive = []
        for pid in sorted(self.seen_pids - {os.getpid()}):
            with contextlib.suppress(psutil.Error):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
        return alive

    def _stop_cluster(self) -> None:
        ray = require_ray("rlkit.scaling")
        with contextlib.suppress(Exception):
            ray.shutdown()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self._record_pids()
                self.cluster.shutdown()
        self.cluster, self.nodes = None, []

    def shutdown(self, timeout: float = 30.0) -> list[int]:
        """Disconnect, stop every node and wait for the recorded processes to end.

        Any process still running after ``timeout`` is killed by its pid; returns those pids
        (an empty list when Ray stopped everything itself).
        """
        import psutil

        self._stop_cluster()
        deadline = time.monotonic() + timeout
        while self.alive_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = self.alive_pids()
        for pid in left:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        return left

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or (mapped is not None and mapped.is_loopback)
