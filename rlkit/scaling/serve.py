"""A Ray cluster for a class on one shared machine: ``python -m rlkit.scaling.serve``.

    python -m rlkit.scaling.serve --nodes 4 --cpus-per-node 4 --token-file /srv/class/ray_token

starts a ``LocalCluster`` (every process on 127.0.0.1, dashboard off) that asks every joining
process for its token, writes the token to ``--token-file`` (a new file, mode 0640: give its
group to the class, ``chgrp students /srv/class/ray_token``), prints the address and what a
student runs, and keeps the cluster up until Ctrl-C, when it stops every process it started
and deletes the token file.

Ray runs the tasks of everyone who joins as the Unix user who started the cluster: start it
from an account kept for the class, never from your own (docs/SCALING.md, "Shared machine").
"""

from __future__ import annotations

import argparse
import os
import time

STUDENT_SNIPPET = """Students join with (in a notebook, before training):

    from rlkit.scaling.cluster import connect
    connect("{address}", token_file="{token_file}")
"""


def write_token_file(path: str, token: str) -> str:
    """Write ``token`` to a new file ``path`` (mode 0640, never over an existing file)."""
    path = os.path.abspath(os.path.expanduser(path))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: sizes of the cluster and where the token goes."""
    parser = argparse.ArgumentParser(prog="python -m rlkit.scaling.serve", description=__doc__)
    parser.add_argument("--nodes", type=int, default=2, help="worker nodes (default 2)")
    parser.add_argument("--cpus-per-node", type=int, default=1, help="CPUs of each (default 1)")
    parser.add_argument("--object-store-mb", type=int, default=200, help="per node (200)")
    parser.add_argument("--token-file", required=True, help="a new file for the class token")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Start the cluster, publish its token, wait for Ctrl-C, stop it."""
    from rlkit.scaling.cluster import LocalCluster

    args = parse_args(argv)
    cluster = LocalCluster(
        num_nodes=args.nodes, cpus_per_node=args.cpus_per_node, object_store_mb=args.object_store_mb
    )
    cluster.start()
    token_file = None
    try:
        token_file = write_token_file(args.token_file, cluster.token)
        print(f"Ray cluster at {cluster.address}; token in {token_file} (mode 0640)")
        print(STUDENT_SNIPPET.format(address=cluster.address, token_file=token_file), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping the cluster")
    finally:
        if token_file is not None:
            os.unlink(token_file)  # the token dies with the cluster
        left = cluster.shutdown()
        if left:
            print(f"killed Ray processes that did not stop: {left}")


if __name__ == "__main__":
    main()
