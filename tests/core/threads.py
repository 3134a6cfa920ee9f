"""Work started in several threads at the same moment, to make races happen."""

import threading
from collections.abc import Callable
from typing import Any


def in_threads(work: Callable[[int], Any], count: int) -> list[Any]:
    """Run `work(0)` ... `work(count - 1)` in threads released together; their results."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results
