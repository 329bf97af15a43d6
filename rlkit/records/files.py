"""Writing files whole or not at all: a temp file in the target folder, then a rename.

A crash, a full disk or an exception halfway leaves the earlier file (or none), never half of
one. The temp file sits in the same folder, so the rename is atomic (``os.replace``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temp path beside ``path``; on a clean exit it is renamed to ``path``, else deleted.

        >>> with atomic_path("out/policy.onnx") as tmp:
        ...     torch.onnx.export(module, args, tmp)      # doctest: +SKIP

    Args:
        path: the file to write; its folder must exist.
    """
    folder = os.path.dirname(os.path.abspath(path))
    stem, suffix = os.path.splitext(os.path.basename(path))
    # ".episode.k3j2.tmp.gif": hidden, marked temporary, and ending as the file will (tools
    # such as imageio choose the format by the extension).
    # Created with open(..., "x") rather than mkstemp, so the file gets the umask's
    # permissions (mkstemp's are 0600: a shared model or video others could not read).
    while True:
        tmp = os.path.join(folder, f".{stem}.{secrets.token_hex(4)}.tmp{suffix}")
        try:
            open(tmp, "x").close()
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def check_writable(folder: str, what: str, fix: str) -> str:
    """Create ``folder`` (and parents) and prove a file can be written there; its absolute path.

    Raises:
        OSError: one line naming ``what``, the folder, the system's reason and ``fix``.
    """
    folder = os.path.abspath(os.path.expanduser(folder))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".rlkit_write_probe_", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise OSError(f"cannot write {what} to '{folder}' ({reason}); {fix}") from None
    return folder
