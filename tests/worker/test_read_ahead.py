import threading
import time

from worker.read_ahead import ReadAhead


class Loads:
    def __init__(self) -> None:
        self.indices: list[int] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, index: int) -> int:
        with self._lock:
            self.indices.append(index)
            self.threads.add(threading.current_thread().name)
        return index * 10


def _eventually(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_reads_in_order_find_the_next_items_loaded_in_the_background():
    loads = Loads()
    items = ReadAhead(loads, count=4, depth=2)

    assert items.get(0) == 0
    assert _eventually(lambda: sorted(loads.indices) == [0, 1, 2])
    assert [items.get(i) for i in (1, 2, 3)] == [10, 20, 30]
    items.close()

    assert sorted(loads.indices) == [0, 1, 2, 3]  # each loaded once, none past the end
    assert any(name.startswith("read-ahead") for name in loads.threads)


def test_reads_out_of_order_and_after_closing_answer_the_same():
    loads = Loads()
    items = ReadAhead(loads, count=10, depth=3)

    answers = [items.get(i) for i in (7, 2, 9, 0)]
    items.close()

    assert answers == [70, 20, 90, 0]
    assert items.get(5) == 50
