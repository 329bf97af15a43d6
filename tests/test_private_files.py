"""rlkit's private files for Ray (rlkit.scaling.private): 0700, never followed, cleaned up.

No Ray is started here (the ray tier's tests/test_shared_machine.py starts real clusters).
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from rlkit.scaling.private import PrivateDir, check_private, remove_stale


def test_private_dir_is_0700_and_never_follows_a_planted_symlink(tmp_path):
    private = PrivateDir(prefix="rlkit-test-")
    try:
        info = os.lstat(private.path)
        assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
        assert os.path.basename(private.path).startswith(f"rlkit-test-{os.getpid()}-")
        target = tmp_path / "victim"
        target.write_text("untouched")
        os.symlink(target, os.path.join(private.path, "auth_token"))
        with pytest.raises(FileExistsError):
            private.write("auth_token", "secret")
        assert target.read_text() == "untouched"
        path = private.write("stubs/x/__init__.py", "pass\n")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    finally:
        private.remove()
    assert not os.path.exists(private.path)


def test_a_shared_or_foreign_directory_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(PermissionError, match="other users can write it"):
        check_private(str(shared))
    link = tmp_path / "link"
    os.symlink(tmp_path, link)
    with pytest.raises(PermissionError, match="not a directory"):
        check_private(str(link))


def test_directories_of_ended_processes_are_removed_live_ones_kept():
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    root = tempfile.gettempdir()
    stale = os.path.join(root, f"rlkit-test-{ended}-abc")
    live = os.path.join(root, f"rlkit-test-{os.getpid()}-abc")
    for path in (stale, live):
        os.mkdir(path, 0o700)
    try:
        assert remove_stale("rlkit-test-") == [stale]
        assert os.path.isdir(live) and not os.path.exists(stale)
    finally:
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def test_connect_needs_a_token():
    from rlkit.scaling.cluster import connect

    with pytest.raises(ValueError, match="needs the cluster's token"):
        connect("127.0.0.1:1")


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
