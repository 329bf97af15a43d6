"""Size a class server: S students' kernels run the same training cell at once.

Starts S Jupyter kernels (jupyter_client, the python3 kernel of this environment), imports
rlkit in each (not timed: students have run the notebook's first cells already), then sends
every kernel the same training cell at the same moment and waits for all. For each student it
reports the wall time of the cell and the CPU time it used, and for the class the peak memory
of each kernel (its maximum resident set size, from the kernel itself) and of all kernels
together.

    .venv/bin/python scripts/class_server.py --students 1,4,8,16
    .venv/bin/python scripts/class_server.py --students 8 --cores 2 --json class.json

--cores C pins every kernel to the first C CPUs (a C-core server on a bigger machine); by
default the kernels may use every CPU this process may. The training cell is PPO on
CartPole-v1, 4 iterations of about 1,000 env steps (--iterations), what a full-budget cell in
the algorithms notebooks does in its first seconds; rlkit gives each kernel one torch thread.
The machine's load average before and after is printed: other users of the machine slow the
kernels down as much as the class does.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import threading
import time

from jupyter_client.manager import start_new_kernel

SETUP = "import resource, time\nfrom rlkit.algorithms import PPO\n"
CELL = """
start, cpu = time.perf_counter(), time.process_time()
trainer = PPO(env="CartPole-v1", config={{"seed": {seed}}})
for _ in range({iterations}):
    result = trainer.train()
trainer.stop()
print(repr((time.perf_counter() - start, result["episode_reward_mean"],
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            time.process_time() - cpu)))
"""


def _run_cell(client, code: str, timeout: float) -> str:
    """Execute ``code`` in a kernel; returns its stdout, raises on an error."""
    out: list[str] = []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            out.append(content["text"])
        elif kind == "error":
            out.append("ERROR " + content["ename"] + ": " + content["evalue"])

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    text = "".join(out)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"the cell failed in a kernel: {text[-2000:]}")
    return text


def _pin(manager, cores: int | None) -> None:
    if cores is None:
        return
    pid = manager.provisioner.process.pid
    os.sched_setaffinity(pid, set(sorted(os.sched_getaffinity(0))[:cores]))


def run_class(students: int, cores: int | None, iterations: int, timeout: float) -> dict:
    """Start ``students`` kernels, run the training cell in all at once; the figures."""
    kernels = [start_new_kernel(kernel_name="python3") for _ in range(students)]
    try:
        for manager, client in kernels:
            _pin(manager, cores)
            _run_cell(client, SETUP, timeout)
        results: list = [None] * students
        barrier = threading.Barrier(students)

        def student(i: int) -> None:
            barrier.wait()
            code = CELL.format(seed=i, iterations=iterations)
            results[i] = ast.literal_eval(_run_cell(kernels[i][1], code, timeout).strip())

        wall = time.perf_counter()
        threads = [threading.Thread(target=student, args=(i,)) for i in range(students)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall
    finally:
        for manager, client in kernels:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    times = [r[0] for r in results]
    peaks = [r[2] for r in results]
    cpu = [r[3] for r in results]
    return {
        "students": students,
        "cores": cores or len(os.sched_getaffinity(0)),
        "cell_s": {"min": min(times), "median": statistics.median(times), "max": max(times)},
        "class_wall_s": wall,
        "cpu_s_median": statistics.median(cpu),
        "kernel_peak_mb": max(peaks),
        "all_kernels_peak_mb": sum(peaks),
        "returns": [r[1] for r in results],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", default="1,4,8", help="class sizes, e.g. 1,4,8,16")
    parser.add_argument("--cores", type=int, default=None, help="pin kernels to C CPUs")
    parser.add_argument("--iterations", type=int, default=4, help="train() calls in the cell")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per cell")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    rows = []
    print("| students | cores | cell time per student (min / median / max) | CPU per cell | "
          "one kernel's peak | all kernels' peak | load before -> after |")
    print("|---|---|---|---|---|---|---|")
    for s in (int(x) for x in args.students.split(",")):
        load = os.getloadavg()[0]
        row = run_class(s, args.cores, args.iterations, args.timeout)
        row["load_before"], row["load_after"] = load, os.getloadavg()[0]
        rows.append(row)
        c = row["cell_s"]
        print(
            f"| {s} | {row['cores']} | {c['min']:.1f} / {c['median']:.1f} / {c['max']:.1f} s | "
            f"{row['cpu_s_median']:.1f} s | {row['kernel_peak_mb']:.0f} MB | "
            f"{row['all_kernels_peak_mb'] / 1024:.1f} GB | "
            f"{row['load_before']:.1f} -> {row['load_after']:.1f} |",
            flush=True,
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
