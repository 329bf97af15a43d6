"""A shared machine: nothing planted under /tmp runs, and strangers cannot join rlkit's Ray.

Real processes on 127.0.0.1 only (dashboard off, 80 MB object stores, every process stopped by
its recorded pid). The "shared temporary directory" is a folder of the test's own, given to the
cluster as ``TMPDIR``, so nothing is planted in the machine's real ``/tmp``.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray

OLD_STUBS = "rlkit_ray_import_stubs"  # the fixed path rlkit once put on Ray's PYTHONPATH
CLIENT = """
import json, sys
import ray
from rlkit.scaling.cluster import connect
try:
    if sys.argv[2] == "none":
        ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
    else:
        connect(sys.argv[1], token_file=sys.argv[2])
    print(json.dumps({"joined": ray.get(ray.remote(lambda: 6 * 7).remote(), timeout=120)}))
except ConnectionError as err:
    print(json.dumps({"refused": str(err)}))
"""


def plant(shared_tmp, marker, target):
    """What another user could leave at the old fixed path: 0777, sitecustomize, a symlink."""
    root = os.path.join(shared_tmp, OLD_STUBS)
    os.makedirs(os.path.join(root, "rfc3987_syntax"))
    with open(os.path.join(root, "sitecustomize.py"), "w") as f:
        f.write(f"open({marker!r}, 'a').write('planted code ran\\n')\n")
    os.symlink(target, os.path.join(root, "rfc3987_syntax", "__init__.py"))
    for folder in (root, os.path.join(root, "rfc3987_syntax")):
        os.chmod(folder, 0o777)


def run_client(address, token_file, env):
    """A separate process joining ``address`` with the token in ``token_file`` ("none": no token).

    The client is told what rlkit's own processes are (loopback, no usage stats), nothing else.
    """
    env = {**env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, address, token_file],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def planted_cluster():
    """A LocalCluster started with a planted old stub path in its TMPDIR."""
    from rlkit.scaling import LocalCluster

    work = tempfile.mkdtemp(prefix="rk")  # short: Ray's socket paths stay < 108 bytes
    shared_tmp, marker = os.path.join(work, "t"), os.path.join(work, "marker")
    target = os.path.join(work, "victim.txt")
    os.makedirs(shared_tmp)
    with open(target, "w") as f:
        f.write("untouched\n")
    plant(shared_tmp, marker, target)
    saved = {k: os.environ.get(k) for k in ("TMPDIR", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")}
    os.environ["TMPDIR"], tempfile.tempdir = shared_tmp, None
    cluster = LocalCluster(num_nodes=1, cpus_per_node=1, object_store_mb=80)
    try:
        cluster.start()
        yield cluster, {"work": work, "shared_tmp": shared_tmp, "marker": marker, "target": target}
    finally:
        left = cluster.shutdown()
        tempfile.tempdir = None
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        shutil.rmtree(work, ignore_errors=True)
    assert left == [] and cluster.alive_pids() == []
    assert not os.path.exists(cluster.files.dir.path)  # the private directory is removed
    assert saved["RAY_AUTH_MODE"] == os.environ.get("RAY_AUTH_MODE")


def test_planted_sitecustomize_and_symlink_are_never_used(planted_cluster):
    cluster, paths = planted_cluster
    import ray

    # A task runs in a fresh worker process: it has imported everything Ray imports.
    pythonpath = ray.get(ray.remote(lambda: os.environ.get("PYTHONPATH", "")).remote())
    private = cluster.files.dir.path
    info = os.lstat(private)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    assert os.path.dirname(private) == paths["shared_tmp"]  # under TMPDIR, a fresh mkdtemp name
    assert pythonpath.split(os.pathsep)[0] == os.path.join(private, "stubs")
    assert OLD_STUBS not in pythonpath
    for pid in cluster.alive_pids():  # every Ray process: none has the old path on PYTHONPATH
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().decode(errors="replace")
        except OSError:
            continue
        assert OLD_STUBS not in env, pid
    assert not os.path.exists(paths["marker"]), "planted sitecustomize.py ran"
    with open(paths["target"]) as f:
        assert f.read() == "untouched\n"  # the symlink at the stub's old path was not followed
    assert stat.S_IMODE(os.stat(cluster.token_path).st_mode) == 0o600


def test_foreign_client_is_refused_and_token_holder_joins(planted_cluster):
    cluster, _ = planted_cluster
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env["PYTHONPATH"] = os.getcwd()
    foreign = run_client(cluster.address, "none", env)
    assert "joined" not in foreign, "a process without the token ran a task on the cluster"
    wrong = os.path.join(cluster.files.dir.path, "wrong_token")
    with open(wrong, "w") as f:
        f.write("0" * 64)
    refused = run_client(cluster.address, wrong, env)
    assert "could not join the Ray cluster" in refused["refused"]
    assert run_client(cluster.address, cluster.token_path, env) == {"joined": 42}


def test_connect_needs_a_token():
    from rlkit.scaling.cluster import connect

    with pytest.raises(ValueError, match="needs the cluster's token"):
        connect("127.0.0.1:1")


LOCAL = """
import json, os, stat
from rlkit.scaling.cluster import init_local_ray, _LOCAL
import rlkit.scaling.cluster as cluster
ray = init_local_ray(num_cpus=1, object_store_mb=80)
files = cluster._LOCAL
print(json.dumps({
    "address": ray.get_runtime_context().gcs_address,
    "dir": files.dir.path,
    "dir_mode": stat.S_IMODE(os.stat(files.dir.path).st_mode),
    "token_mode": stat.S_IMODE(os.stat(files.token_path).st_mode),
    "task": ray.get(ray.remote(lambda: 1).remote()),
}), flush=True)
input()
"""


def test_init_local_ray_is_one_command_private_and_refuses_strangers():
    tmp_path = Path(tempfile.mkdtemp(prefix="rk", dir="/tmp"))  # short: Ray's socket paths
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(PYTHONPATH=os.getcwd(), HOME=str(tmp_path), TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCAL],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert info["task"] == 1 and info["dir_mode"] == 0o700 and info["token_mode"] == 0o600
        assert not os.path.exists(tmp_path / ".ray")  # no token left in the home folder
        assert "joined" not in run_client(info["address"], "none", env)
    finally:
        proc.communicate("\n", timeout=120)
    assert proc.returncode == 0
    assert not os.path.exists(info["dir"])  # removed at exit, after Ray stopped
    shutil.rmtree(tmp_path)


def test_too_long_tmpdir_is_a_clear_error(monkeypatch):
    from rlkit.scaling.cluster import _InstanceFiles

    base = tempfile.mkdtemp(prefix="rk")
    long_dir = os.path.join(base, "x" * 60)
    os.makedirs(long_dir)
    monkeypatch.setattr(tempfile, "tempdir", long_dir)
    try:
        with pytest.raises(OSError, match="TMPDIR"):
            _InstanceFiles()
        assert os.listdir(long_dir) == []  # nothing left behind
    finally:
        shutil.rmtree(base)
