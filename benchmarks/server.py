"""Servers that the benchmarks start for themselves: a command on a free port, returned once a
path answers 200."""

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def running_server(
    command: list[str],
    env: dict[str, str],
    ready_path: str = "/healthz",
    cpus: set[int] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(URL, process) of `command`, started with PORT set (and `{port}` in it replaced), on
    `cpus` if given; terminated on exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {**os.environ, "PORT": str(port), **env}
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    process = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in command], env=environment, preexec_fn=pin
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(f"{url}{ready_path}", process)
        yield url, process
    finally:
        process.terminate()
        process.wait(60)


def child_pid(parent: int, marker: bytes) -> int:
    """The process started by `parent` whose command line contains `marker`."""
    for pid in _process_ids():
        try:
            command = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if _parent_of(pid) == parent and marker in command:
            return pid
    raise SystemExit(f"process {parent} has no child {marker!r}")


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) that process `pid` and its live descendants have used."""
    stats = {other: fields for other in _process_ids() if (fields := _stat_fields(other))}

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


def _process_ids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state first); empty once it has exited."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _parent_of(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else 0


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{process.args} did not answer {url}")
