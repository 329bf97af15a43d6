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
  under ``suppress(ImportError)`` and Ray never checks IRI strings. The stand-in, Ray's temp
  dir and the token live in a private 0700 directory of each instance (``rlkit.scaling.private``),
  never at a fixed path under the shared ``/tmp``.
- Token authentication (``RAY_AUTH_MODE=token``): a process without the instance's token, e.g.
  another user's, cannot join. ``init_local_ray`` makes a fresh token nobody else sees (one
  user, one command); ``LocalCluster(token=...)`` is a cluster several users join with
  ``connect(address, token_file=...)`` (docs/SCALING.md, "Shared machine").

``LocalCluster`` (a head without CPUs plus worker nodes of 1 CPU each) is what the tests and
benchmarks run on; it records every process it starts and stops exactly those.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import sys
import time
from typing import Any

from rlkit.scaling import require_ray
from rlkit.scaling.private import (
    TOKEN_ENV,
    PrivateDir,
    _refresh_ray_auth,
    apply_token_environment,
    check_private,
    new_token,
)

LOOPBACK = "127.0.0.1"
_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
_MAX_DIR_BYTES = 40  # + "/ray/session_<date>_<time>_<pid>/sockets/plasma_store" < 108
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


class _InstanceFiles:
    """One Ray instance's private directory: the import stand-in, Ray's temp dir, the token."""

    def __init__(self, token: str | None = None):
        self.dir = PrivateDir()
        if len(self.dir.path) > _MAX_DIR_BYTES:
            self.dir.remove()
            raise OSError(
                f"rlkit's private Ray folder {self.dir.path} is too long: Ray's socket paths "
                f"inside it must stay under 108 bytes, so the folder at most {_MAX_DIR_BYTES}. "
                "Set TMPDIR to a short folder of your own (e.g. mkdir -m 700 ~/t; TMPDIR=~/t)."
            )
        self.stub_root = os.path.join(self.dir.path, "stubs")
        self.dir.write(os.path.join("stubs", "rfc3987_syntax", "__init__.py"), _STUB_SOURCE)
        self.ray_temp = self.dir.subdir("ray")
        self.token = token or new_token()
        self.token_path = self.dir.write("auth_token", self.token + "\n")

    @contextlib.contextmanager
    def fast_ray_imports(self):
        """PYTHONPATH with the rfc3987_syntax stand-in, for the Ray processes started inside."""
        check_private(self.dir.path)  # still ours and 0700 before Ray's processes import from it
        old = os.environ.get("PYTHONPATH")
        if not (old or "").startswith(self.stub_root + os.pathsep) and old != self.stub_root:
            os.environ["PYTHONPATH"] = self.stub_root + (os.pathsep + old if old else "")
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old


@contextlib.contextmanager
def _address_file_in(ray: Any, temp_dir: str):
    """Keep Ray's address file in ``temp_dir`` inside the block.

    Ray's test ``Cluster`` writes and deletes ``<tmp>/ray/ray_current_cluster``, a fixed path
    under the shared temp dir; inside this block it uses ``temp_dir``'s instead.
    """
    write, reset = ray._private.utils.write_ray_address, ray._common.utils.reset_ray_address
    ray._private.utils.write_ray_address = lambda address, _=None: write(address, temp_dir)
    ray._common.utils.reset_ray_address = lambda _=None: reset(temp_dir)
    try:
        yield
    finally:
        ray._private.utils.write_ray_address, ray._common.utils.reset_ray_address = write, reset


_LOCAL: _InstanceFiles | None = None  # init_local_ray's files, kept until the process exits


def _end_local_instance() -> None:
    """At exit: stop this process's Ray instance, then delete its private directory."""
    ray = sys.modules.get("ray")
    if ray is not None:
        with contextlib.suppress(Exception):
            ray.shutdown()
    if _LOCAL is not None:
        _LOCAL.dir.remove()


def init_local_ray(num_cpus: int | None = None, object_store_mb: int = 200) -> Any:
    """Start Ray on this machine: loopback only, dashboard off, quiet; returns ``ray``.

    Always a new instance of this process's own (``address="local"``): a plain ``ray.init()``
    would join any Ray instance it finds running on the machine, e.g. another user's. Does
    nothing when Ray is already initialised. Ray's logs are kept out of the notebook. The
    instance asks for a fresh token that only this process knows, and keeps its files in a
    private directory deleted at exit.
    """
    global _LOCAL
    ray = _prepare_environment()
    if ray.is_initialized():
        return ray
    if _LOCAL is None:
        _LOCAL = _InstanceFiles()
        atexit.register(_end_local_instance)  # after ray's own: runs first, stops Ray itself
    apply_token_environment(_LOCAL.token_path)
    with _LOCAL.fast_ray_imports():
        ray.init(
            address="local",  # a new instance: never join another process's cluster
            _temp_dir=_LOCAL.ray_temp,
            num_cpus=num_cpus,
            include_dashboard=False,
            object_store_memory=object_store_mb * 2**20,
            log_to_driver=False,
            logging_level="ERROR",
            configure_logging=True,
        )
    return ray


def connect(address: str, token: str | None = None, token_file: str | None = None) -> Any:
    """Join a Ray cluster started by someone else on this machine (a class cluster).

    Args:
        address: ``host:port`` of the cluster's head, as its owner printed it.
        token: the cluster's token; or
        token_file: a file holding it (e.g. one the teacher made readable to the class).

    Returns ``ray``, connected. A cluster rlkit started refuses a process without its token.

    Raises:
        ValueError: neither or both of ``token`` and ``token_file`` given.
        ConnectionError: the cluster refused the token or is not running at ``address``.
    """
    if (token is None) == (token_file is None):
        raise ValueError(
            "connect() needs the cluster's token: pass token='...' or token_file='path' "
            "(ask whoever started the cluster; docs/SCALING.md, 'Shared machine')"
        )
    if token_file is not None:
        with open(os.path.expanduser(token_file)) as f:
            token = f.read().strip()
    ray = _prepare_environment()
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    _refresh_ray_auth()
    try:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    except ConnectionError as err:
        raise ConnectionError(
            f"could not join the Ray cluster at {address}: it refused the token or is not "
            "running there. Check the address and the token with whoever started the "
            f"cluster (docs/SCALING.md, 'Shared machine'). Ray said: {err}"
        ) from err
    return ray


class LocalCluster:
    """A Ray cluster of several nodes on this machine, every process bound to 127.0.0.1.

    Args:
        num_nodes: worker nodes besides the head.
        cpus_per_node: CPUs each worker node offers (the head offers ``head_cpus``).
        head_cpus: 0 keeps work off the head, as on a real cluster's head.
        object_store_mb: object store of each node.
        attempts: start-up tries (a start can crash under load: ray issue 65983).
        token: the token every process joining the cluster must present (``RAY_AUTH_MODE=token``);
            None makes a fresh random one. Give it (``self.token`` or the 0600 file
            ``self.token_path``) to the users who may join: ``connect(self.address, token=...)``.

    Use as a context manager or call ``start()`` / ``shutdown()``. Its files (import stand-in,
    Ray's temp dir, the token) live in a private 0700 directory deleted at ``shutdown()``.
    """

    def __init__(
        self,
        num_nodes: int = 2,
        cpus_per_node: int = 1,
        head_cpus: int = 0,
        object_store_mb: int = 200,
        attempts: int = 2,
        token: str | None = None,
    ):
        self.num_nodes, self.cpus_per_node, self.head_cpus = num_nodes, cpus_per_node, head_cpus
        self.object_store_mb, self.attempts = object_store_mb, attempts
        self._token = token
        self.files: _InstanceFiles | None = None
        self._saved_env: dict[str, str | None] = {}
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
            "temp_dir": self.files.ray_temp,
        }

    @property
    def address(self) -> str:
        """``host:port`` of the head, what ``connect()`` needs."""
        return self.cluster.address

    @property
    def token(self) -> str:
        """The token a process must present to join (give it only to those who may)."""
        return self.files.token

    @property
    def token_path(self) -> str:
        """The 0600 file holding ``token`` (inside the private directory)."""
        return self.files.token_path

    def start(self) -> LocalCluster:
        """Start the head and the worker nodes and connect this process (retries on a crash)."""
        ray = _prepare_environment()
        from ray.cluster_utils import Cluster

        self.files = _InstanceFiles(self._token)
        self._saved_env = {key: os.environ.get(key) for key in TOKEN_ENV}
        apply_token_environment(self.files.token_path)
        for attempt in range(self.attempts):
            try:
                with self.files.fast_ray_imports(), _address_file_in(ray, self.files.ray_temp):
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
                    self._forget_files()
                    raise
                time.sleep(2.0)
        return self

    def add_node(self) -> Any:
        """Start one more worker node; returns Ray's node object."""
        with self.files.fast_ray_imports():
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
            with contextlib.suppress(Exception), _address_file_in(ray, self.files.ray_temp):
                self._record_pids()
                self.cluster.shutdown()
        self.cluster, self.nodes = None, []

    def _forget_files(self) -> None:
        """Delete the private directory and put the token variables back as they were."""
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with contextlib.suppress(Exception):
            _refresh_ray_auth()
        if self.files is not None:
            self.files.dir.remove()

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
        self._forget_files()
        return left

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or (mapped is not None and mapped.is_loopback)
