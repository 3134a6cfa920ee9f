import asyncio
import threading

import numpy as np
import pytest

from app.serving.batcher import BatcherClosed, MicroBatcher
from app.serving.compiled_call import bucket_size


def _identity_forward(calls: list[int]):
    """Logits that are the images' own first pixel, so each answer shows whose it is."""

    def forward(pixels: np.ndarray) -> np.ndarray:
        calls.append(len(pixels))
        assert threading.current_thread().name.startswith("inference")  # off the event loop
        return pixels[:, 0, 0, :1].astype(np.float32)

    return forward


def _images(first: int, count: int = 1) -> np.ndarray:
    images = np.zeros((count, 2, 2, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(first, first + count)
    return images


def test_concurrent_submissions_share_batches_and_each_gets_its_own_answer():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_identity_forward(calls), window_seconds=0.05, max_batch=64)
        answers = await asyncio.gather(*(batcher.submit(_images(i)) for i in range(20)))
        await batcher.close()
        return answers

    answers = asyncio.run(scenario())

    assert [int(answer[0, 0]) for answer in answers] == list(range(20))
    assert sum(calls) == 20 and len(calls) < 20  # shared batches, fewer model calls


def test_a_batch_never_grows_past_the_maximum():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_identity_forward(calls), window_seconds=0.05, max_batch=8)
        answers = await asyncio.gather(*(batcher.submit(_images(10 * i, 3)) for i in range(6)))
        await batcher.close()
        return answers

    answers = asyncio.run(scenario())

    assert [answer[:, 0].tolist() for answer in answers] == [
        [10 * i, 10 * i + 1, 10 * i + 2] for i in range(6)
    ]
    assert max(calls) == 6  # two requests of 3; a third would make 9, over the maximum


def test_a_request_larger_than_a_batch_runs_as_one_of_its_own():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_identity_forward(calls), window_seconds=0, max_batch=2)
        answer = await asyncio.wait_for(batcher.submit(_images(0, 3)), timeout=30)
        await batcher.close()
        return answer

    assert asyncio.run(scenario())[:, 0].tolist() == [0, 1, 2]
    assert calls == [3]


def test_a_failing_batch_fails_its_requests_and_the_next_batch_runs():
    def flaky(pixels: np.ndarray) -> np.ndarray:
        if pixels[0, 0, 0, 0] == 0:
            raise RuntimeError("device error")
        return pixels[:, 0, 0, :1].astype(np.float32)

    async def scenario():
        batcher = MicroBatcher(flaky, window_seconds=0, max_batch=1)
        with pytest.raises(RuntimeError, match="device error"):
            await batcher.submit(_images(0))
        answer = await batcher.submit(_images(5))
        await batcher.close()
        return answer

    assert int(asyncio.run(scenario())[0, 0]) == 5


def test_a_lone_request_does_not_wait_for_the_window():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_identity_forward(calls), window_seconds=600, max_batch=64)
        # Would time out if the request sat through the 10-minute window.
        answer = await asyncio.wait_for(batcher.submit(_images(7)), timeout=30)
        await batcher.close()
        return answer

    assert int(asyncio.run(scenario())[0, 0]) == 7
    assert calls == [1]


def test_once_requests_come_together_the_next_batch_waits_for_the_window():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_identity_forward(calls), window_seconds=0.5, max_batch=64)
        await asyncio.gather(*(batcher.submit(_images(i)) for i in range(3)))
        early = asyncio.create_task(batcher.submit(_images(10)))
        await asyncio.sleep(0.05)  # well inside the window
        late = await batcher.submit(_images(11))
        answers = [int((await early)[0, 0]), int(late[0, 0])]
        await batcher.close()
        return answers

    assert asyncio.run(scenario()) == [10, 11]
    assert calls == [3, 2]


def test_a_request_that_waited_out_its_window_behind_a_running_batch_waits_no_more():
    calls: list[int] = []
    release = threading.Event()

    def slow_second_batch(pixels: np.ndarray) -> np.ndarray:
        calls.append(len(pixels))
        if len(calls) == 2:
            release.wait(10)  # the model is busy with this batch until released
        return pixels[:, 0, 0, :1].astype(np.float32)

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        batcher = MicroBatcher(slow_second_batch, window_seconds=1.0, max_batch=2)
        await asyncio.gather(*(batcher.submit(_images(i)) for i in range(2)))  # windows apply
        busy = [asyncio.create_task(batcher.submit(_images(i))) for i in (10, 11)]
        await asyncio.sleep(0.1)
        late = asyncio.create_task(batcher.submit(_images(12)))
        await asyncio.sleep(1.3)  # its whole window passes while the model is busy
        release.set()
        await asyncio.gather(*busy)
        freed = loop.time()
        assert int((await late)[0, 0]) == 12
        await batcher.close()
        return loop.time() - freed

    waited_after_the_model_was_free = asyncio.run(scenario())

    assert calls == [2, 2, 1]
    assert waited_after_the_model_was_free < 0.5  # not another 1 s window


@pytest.mark.parametrize(("count", "bucket"), [(1, 1), (2, 2), (3, 4), (8, 8), (9, 16)])
def test_batches_are_padded_to_powers_of_two(count, bucket):
    assert bucket_size(count) == bucket


def test_closing_answers_what_waits_and_refuses_what_comes_after():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_identity_forward(calls), window_seconds=0.2, max_batch=64)
        waiting = [asyncio.create_task(batcher.submit(_images(i))) for i in range(3)]
        await asyncio.sleep(0.01)
        await batcher.close()
        with pytest.raises(BatcherClosed):
            await batcher.submit(_images(9))
        return [int((await task)[0, 0]) for task in waiting]

    assert asyncio.run(scenario()) == [0, 1, 2]


def _held_model(calls: list[int], held_calls: int, release: threading.Event):
    """A model whose first `held_calls` batches stay in it until `release` is set."""

    def forward(pixels: np.ndarray) -> np.ndarray:
        calls.append(len(pixels))
        if len(calls) <= held_calls:
            release.wait(10)
        return pixels[:, 0, 0, :1].astype(np.float32)

    return forward


@pytest.mark.parametrize(("in_flight", "answered_meanwhile"), [(1, False), (2, True)])
def test_a_full_second_batch_runs_while_the_first_is_in_the_model_only_with_two_in_flight(
    in_flight, answered_meanwhile
):
    calls: list[int] = []
    release = threading.Event()

    async def scenario() -> tuple[bool, list[int]]:
        forward = _held_model(calls, held_calls=1, release=release)
        batcher = MicroBatcher(forward, 0, max_batch=2, batches_in_flight=in_flight)
        first = asyncio.create_task(batcher.submit(_images(0, 2)))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(batcher.submit(_images(2, 2)))  # a full batch
        done, _ = await asyncio.wait({second}, timeout=1.0)
        release.set()
        answers = [int((await task)[0, 0]) for task in (first, second)]
        await batcher.close()
        return second in done, answers

    assert asyncio.run(scenario()) == (answered_meanwhile, [0, 2])
    assert calls == [2, 2]


def test_with_a_batch_in_the_model_a_smaller_one_waits_and_grows():
    calls: list[int] = []
    release = threading.Event()

    async def scenario() -> tuple[bool, list[int]]:
        forward = _held_model(calls, held_calls=1, release=release)
        batcher = MicroBatcher(forward, 0, max_batch=4, batches_in_flight=2)
        first = asyncio.create_task(batcher.submit(_images(0)))
        await asyncio.sleep(0.1)
        later = [asyncio.create_task(batcher.submit(_images(i))) for i in (1, 2)]
        done, _ = await asyncio.wait(later, timeout=0.5)
        release.set()
        answers = [int((await task)[0, 0]) for task in (first, *later)]
        await batcher.close()
        return bool(done), answers

    assert asyncio.run(scenario()) == (False, [0, 1, 2])
    assert calls == [1, 2]  # the two later ones together, once the model was free


def test_what_arrives_while_every_thread_is_busy_joins_one_batch():
    calls: list[int] = []
    release = threading.Event()

    async def scenario() -> list[int]:
        forward = _held_model(calls, held_calls=2, release=release)
        batcher = MicroBatcher(forward, 0, max_batch=4, batches_in_flight=2)
        busy = []
        for first in (0, 4):
            busy.append(asyncio.create_task(batcher.submit(_images(first, 4))))
            await asyncio.sleep(0.1)  # each a full batch of its own, held in the model
        queued = [asyncio.create_task(batcher.submit(_images(i))) for i in (8, 9, 10)]
        await asyncio.sleep(0.1)
        release.set()
        answers = [int((await task)[0, 0]) for task in busy + queued]
        await batcher.close()
        return answers

    assert asyncio.run(scenario()) == [0, 4, 8, 9, 10]
    assert calls == [4, 4, 3]


def test_closing_waits_for_the_batches_in_the_model_and_answers_them():
    calls: list[int] = []
    release = threading.Event()

    async def scenario() -> tuple[bool, list[int]]:
        forward = _held_model(calls, held_calls=2, release=release)
        batcher = MicroBatcher(forward, 0, max_batch=1, batches_in_flight=2)
        running = []
        for i in range(2):
            running.append(asyncio.create_task(batcher.submit(_images(i))))
            await asyncio.sleep(0.1)
        closing = asyncio.create_task(batcher.close())
        done, _ = await asyncio.wait({closing}, timeout=0.3)
        release.set()
        await closing
        return closing in done, [int((await task)[0, 0]) for task in running]

    closed_early, answers = asyncio.run(scenario())

    assert not closed_early  # not while two batches were still in the model
    assert answers == [0, 1]
