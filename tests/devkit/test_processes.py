"""Following started processes: children found by a whole argument, and waiting for a URL."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from devkit.processes import child_pids, free_port, stat_fields, wait_until_answers


@contextmanager
def python(*arguments: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_child_is_found_by_its_parent_and_a_whole_argument():
    with python("-c", "import time; time.sleep(60)", "marker") as child:
        assert child_pids(os.getpid(), b"marker") == [child.pid]
        assert child_pids(os.getpid(), b"mark") == []
        assert child_pids(child.pid, b"marker") == []
        assert stat_fields(child.pid)[1] == str(os.getpid())  # its parent


def test_an_exited_process_has_no_stat_fields():
    with python("-c", "pass") as exited:
        exited.wait()
    assert stat_fields(exited.pid) == []


def test_waiting_ends_when_the_url_answers():
    port = free_port()
    with python("-m", "http.server", "--bind", "127.0.0.1", str(port)) as server:
        assert wait_until_answers(f"http://127.0.0.1:{port}/", server, timeout=30)
        assert server.poll() is None


def test_waiting_ends_when_the_process_exits_or_time_runs_out():
    url = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    started = time.monotonic()
    with python("-c", "pass") as exiting:
        assert not wait_until_answers(url, exiting, timeout=30)
    with python("-c", "import time; time.sleep(60)") as sleeping:
        assert not wait_until_answers(url, sleeping, timeout=1)
    assert time.monotonic() - started < 15
