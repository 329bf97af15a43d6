"""Private files for the Ray instances rlkit starts: a 0700 directory and a 0600 token.

On a shared machine the temporary directory (``/tmp``) is writable by every user, so no fixed
path under it can be trusted: another user can create it first, put a ``sitecustomize.py``
in it (run by every Python process whose ``PYTHONPATH`` names the folder) or plant a symlink
where rlkit would write. Everything rlkit writes for Ray therefore lives in a fresh
``tempfile.mkdtemp()`` directory (owner only, mode 0700, an unguessable name) made for each
instance and removed when the instance stops:

    <mkdtemp>/stubs/rfc3987_syntax/__init__.py   the import stand-in (rlkit.scaling.cluster)
    <mkdtemp>/ray/                               Ray's own temp dir (sockets, logs, spill)
    <mkdtemp>/auth_token                         the instance's token, mode 0600

Every Ray instance rlkit starts asks for a token (``RAY_AUTH_MODE=token``): a process without
it, e.g. another user's on the same machine, is refused (see docs/SCALING.md, "Shared
machine"). The token is a fresh random one per instance unless the caller passes one.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile

TOKEN_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


class PrivateDir:
    """A fresh 0700 directory of this user's (``tempfile.mkdtemp``), removed by ``remove()``.

    Args:
        prefix: start of the directory's name (the rest is random).
    """

    def __init__(self, prefix: str = "rlkit-"):
        self.path = tempfile.mkdtemp(prefix=prefix)  # mode 0700, O_EXCL: never an existing one
        check_private(self.path)

    def write(self, relpath: str, text: str, mode: int = 0o600) -> str:
        """Create a new file ``relpath`` inside (folders 0700); refuses an existing name.

        ``O_EXCL | O_NOFOLLOW``: a file or symlink already there is an error, never followed.
        Returns the file's path.
        """
        path = os.path.join(self.path, relpath)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def subdir(self, name: str) -> str:
        """A new 0700 folder inside; returns its path."""
        path = os.path.join(self.path, name)
        os.mkdir(path, 0o700)
        return path

    def remove(self) -> None:
        """Delete the directory and everything in it (nothing outside: symlinks not followed)."""
        shutil.rmtree(self.path, ignore_errors=True)


def check_private(path: str) -> None:
    """Raise ``PermissionError`` unless ``path`` is a real directory of ours with mode 0700.

    Args:
        path: a directory rlkit is about to write into or put on ``PYTHONPATH``.
    """
    info = os.lstat(path)
    problems = []
    if not stat.S_ISDIR(info.st_mode):
        problems.append("is not a directory (a symlink or file)")
    if info.st_uid != os.getuid():
        problems.append(f"belongs to uid {info.st_uid}, not to this user ({os.getuid()})")
    if stat.S_IMODE(info.st_mode) & 0o077:
        problems.append(f"has mode {stat.S_IMODE(info.st_mode):o}; other users can write it")
    if problems:
        raise PermissionError(
            f"rlkit will not use {path}: it {' and '.join(problems)}. rlkit's Ray files go in "
            "a fresh tempfile.mkdtemp() directory; remove this one or point TMPDIR elsewhere."
        )


def new_token() -> str:
    """A fresh random token for one Ray instance (256 bits, hex)."""
    return secrets.token_hex(32)


def token_environment(token_path: str) -> dict[str, str]:
    """The variables that make Ray (and every process it starts) use the token in the file."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": token_path}


def apply_token_environment(token_path: str) -> None:
    """Point this process (and the Ray processes it starts) at the token in ``token_path``.

    ``RAY_AUTH_TOKEN`` is removed so the file decides; Ray reads the variables once per
    process, so its cached configuration and token are refreshed here as well.
    """
    os.environ.pop("RAY_AUTH_TOKEN", None)
    os.environ.update(token_environment(token_path))
    _refresh_ray_auth()


def _refresh_ray_auth() -> None:
    """Make an already-imported Ray re-read the auth variables (its config is cached)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()
