"""``python -m rlkit migrate script.py``: rewrite an RLlib-era script's imports, names and config.

    python -m rlkit migrate train_rllib.py              # the new script on stdout, report on stderr
    python -m rlkit migrate train_rllib.py -o new.py    # or into a new file
    python -m rlkit migrate train_rllib.py --in-place   # over the script, backup beside it
    python -m rlkit migrate --table                     # the mapping table, as markdown

It never overwrites a file without ``--force``: ``-o`` an existing file is refused, and so is
``--in-place`` when the backup (``train_rllib.py.rllib.bak``) exists. Files are written whole
or not at all (a temporary file renamed over the target). A script that does not parse is a
one-line error naming ``file:line:column``.

The mapping lives in ``rlkit.migrate.table`` (the migration guide prints the same table); the
rewrite in ``rlkit.migrate.rewrite`` (libcst, so comments and layout stay). Exit status 0 when
everything was mapped, 1 when the report lists things to do by hand.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from rlkit.migrate.table import markdown_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``migrate`` subcommand of ``python -m rlkit``."""
    p = sub.add_parser("migrate", help="rewrite an RLlib script's imports, names and config")
    p.add_argument("script", nargs="?", help="the RLlib-era Python file")
    p.add_argument("-o", "--output", default=None, help="write the new script here")
    p.add_argument(
        "--in-place", action="store_true", help="rewrite the script (a backup .rllib.bak is kept)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing output or backup")
    p.add_argument("--table", action="store_true", help="print the mapping table (markdown)")


def run(args: argparse.Namespace) -> int:
    """Run the ``migrate`` subcommand; returns the exit status."""
    if args.table:
        sys.stdout.write(markdown_table())
        return 0
    if not args.script:
        print("python -m rlkit migrate: give a script (or --table)", file=sys.stderr)
        return 2
    try:
        from rlkit.migrate.rewrite import migrate_source
    except ImportError as err:
        print(
            f"python -m rlkit migrate needs libcst ({err}); pip install 'rlkit[migrate]'",
            file=sys.stderr,
        )
        return 2
    problem = _refuse(args)
    if problem:
        print(f"python -m rlkit migrate: {problem}", file=sys.stderr)
        return 2
    with open(args.script, encoding="utf-8") as f:
        source = f.read()
    try:
        new, report = migrate_source(source)
    except SyntaxError as err:  # rlkit.migrate.rewrite turns libcst's error into this
        print(f"{args.script}:{err.lineno}:{err.offset}: {err.msg}", file=sys.stderr)
        return 2
    if args.in_place:
        shutil.copy2(args.script, args.script + BACKUP_SUFFIX)
        _write_atomically(args.script, new)
    elif args.output:
        _write_atomically(args.output, new)
    else:
        sys.stdout.write(new)
    print(report.text(), file=sys.stderr)
    return 1 if report.unmapped else 0


BACKUP_SUFFIX = ".rllib.bak"


def _refuse(args: argparse.Namespace) -> str:
    """Why the command must not run as given ("" when it may)."""
    if not os.path.isfile(args.script):
        return f"no file {args.script!r}"
    if args.in_place and args.output:
        return "give -o FILE or --in-place, not both"
    if args.output and os.path.exists(args.output):
        if os.path.realpath(args.output) == os.path.realpath(args.script):
            return f"-o {args.output} is the script itself: use --in-place (it keeps a backup)"
        if not args.force:
            return f"{args.output} exists; pick a new name or add --force to overwrite it"
    backup = args.script + BACKUP_SUFFIX
    if args.in_place and os.path.exists(backup) and not args.force:
        return f"the backup {backup} exists (from an earlier run?); move it or add --force"
    return ""


def _write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (temporary file, then rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".rlkit-migrate-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
