import asyncio
import threading
import time
from collections.abc import Generator

import pytest

from app.serving.fair_pool import SLICE_SECONDS, FairPool


def _steps(
    count: int, seconds: float, done: list[str], name: str, started: threading.Event | None = None
) -> Generator[None, None, str]:
    for _ in range(count):
        if started is not None:
            started.set()
        time.sleep(seconds)
        done.append(name)
        yield
    return name


def test_work_runs_to_its_result_and_errors_reach_the_caller():
    pool = FairPool(2, "test")

    def failing() -> Generator[None, None, None]:
        yield
        raise ValueError("refused")

    async def scenario() -> str:
        result = await pool.run("a", _steps(3, 0, [], "a"))
        with pytest.raises(ValueError, match="refused"):
            await pool.run("a", failing())
        return result

    assert asyncio.run(scenario()) == "a"
    pool.close()


def _short_work_after_long_work(long_client: str, short_client: str, steps: int) -> list[str]:
    """On one thread: `steps` steps of a quarter slice each for `long_client` ("long"), and,
    once they have started, one step for `short_client` ("short"); the steps in order."""
    pool = FairPool(1, "test")
    done: list[str] = []
    started = threading.Event()

    async def scenario() -> None:
        long_work = asyncio.ensure_future(
            pool.run(long_client, _steps(steps, SLICE_SECONDS / 4, done, "long", started))
        )
        await asyncio.to_thread(started.wait)
        await pool.run(short_client, _steps(1, 0, done, "short"))
        await long_work

    asyncio.run(scenario())
    pool.close()
    return done


def test_a_client_waits_one_slice_at_most_behind_another_clients_long_work():
    steps = 40  # ten slices' work
    done = _short_work_after_long_work("busy", "other", steps)

    assert done.count("long") == steps
    # First in, first out would run all 40 steps first; in turn, it runs after a slice or two.
    assert done.index("short") < steps // 2


def test_a_clients_requests_take_turns_with_each_other_too():
    done = _short_work_after_long_work("c", "c", 40)

    assert done.index("short") < 20


def test_work_whose_caller_went_away_stops_at_its_next_step():
    pool = FairPool(1, "test")
    done: list[str] = []
    started = threading.Event()

    async def scenario() -> None:
        work = asyncio.ensure_future(
            pool.run("a", _steps(100, SLICE_SECONDS / 4, done, "a", started))
        )
        await asyncio.to_thread(started.wait)
        work.cancel()
        await asyncio.sleep(0.3)  # a hundred steps would take a second

    asyncio.run(scenario())
    pool.close()

    assert len(done) < 30
