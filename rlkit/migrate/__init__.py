"""``python -m rlkit migrate script.py``: rewrite an RLlib-era script's imports, names and config.

    python -m rlkit migrate train_rllib.py              # the new script on stdout, report on stderr
    python -m rlkit migrate train_rllib.py -o new.py    # or into a file (--in-place: over it)
    python -m rlkit migrate --table                     # the mapping table, as markdown

The mapping lives in ``rlkit.migrate.table`` (the migration guide prints the same table); the
rewrite in ``rlkit.migrate.rewrite`` (libcst, so comments and layout stay). Exit status 0 when
everything was mapped, 1 when the report lists things to do by hand.
"""

from __future__ import annotations

import argparse
import sys

from rlkit.migrate.table import markdown_table


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``migrate`` subcommand of ``python -m rlkit``."""
    p = sub.add_parser("migrate", help="rewrite an RLlib script's imports, names and config")
    p.add_argument("script", nargs="?", help="the RLlib-era Python file")
    p.add_argument("-o", "--output", default=None, help="write the new script here")
    p.add_argument("--in-place", action="store_true", help="overwrite the script")
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
    with open(args.script, encoding="utf-8") as f:
        source = f.read()
    new, report = migrate_source(source)
    target = args.script if args.in_place else args.output
    if target:
        with open(target, "w", encoding="utf-8") as f:
            f.write(new)
    else:
        sys.stdout.write(new)
    print(report.text(), file=sys.stderr)
    return 1 if report.unmapped else 0
