"""Servers that the benchmarks start for themselves: a command on a free port, returned once a
path answers 200."""

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.processes import child_pids, free_port, process_ids, stat_fields, wait_until_answers


@contextmanager
def running_server(
    command: list[str],
    env: dict[str, str],
    ready_path: str = "/healthz",
    cpus: set[int] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(URL, process) of `command`, started with PORT set (and `{port}` in it replaced), on
    `cpus` if given; terminated on exit."""
    port = free_port()
    environment = {**os.environ, "PORT": str(port), **env}
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    process = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in command], env=environment, preexec_fn=pin
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_answers(f"{url}{ready_path}", process, timeout=120):
            raise SystemExit(f"{process.args!r} did not answer {url}{ready_path}")
        yield url, process
    finally:
        process.terminate()
        process.wait(60)


def child_pid(parent: int, argument: bytes) -> int:
    """The process started by `parent` that has `argument` among its command-line arguments."""
    pids = child_pids(parent, argument)
    if not pids:
        raise SystemExit(f"process {parent} has no child {argument!r}")
    return pids[0]


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) that process `pid` and its live descendants have used."""
    stats = {other: fields for other in process_ids() if (fields := stat_fields(other))}

    def in_tree(other: int) -> bool:
        while other in stats:
            if other == pid:
                return True
            other = int(stats[other][1])  # its parent
        return False

    ticks = sum(
        int(fields[11]) + int(fields[12]) for other, fields in stats.items() if in_tree(other)
    )
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> dict[str, float]:
    """The time this machine's CPUs have been idle, and stolen (taken by the hypervisor for
    other guests, which on a shared VM moves throughput more than anything we change), added up
    over the CPUs (/proc/stat)."""
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    return {"idle": (fields[3] + fields[4]) / ticks, "stolen": fields[7] / ticks}


def cpus_while(measure: Callable[[], dict]) -> dict:
    """`measure()`'s result, with the CPUs left idle and stolen, on average, while it ran."""
    before, started = machine_cpu_seconds(), time.monotonic()
    result = measure()
    after, elapsed = machine_cpu_seconds(), time.monotonic() - started
    return {**result, **{f"{kind}_cpus": (after[kind] - before[kind]) / elapsed for kind in after}}
