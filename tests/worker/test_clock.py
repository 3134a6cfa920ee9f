"""The step clock: compile time apart from training time, from the calls' timings."""

import pytest

from worker.clock import StepClock


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch):
    now = FakeTime()
    monkeypatch.setattr("worker.clock.time.monotonic", now)
    return now


def _fit(fake_time: FakeTime, epochs: list[list[float]]) -> StepClock:
    """A fit whose epochs take these train-call seconds each (no test phase)."""
    clock = StepClock()
    clock.on_train_begin()
    for epoch, calls in enumerate(epochs):
        clock.on_epoch_begin(epoch)
        for batch, seconds in enumerate(calls):
            fake_time.now += seconds
            clock.on_train_batch_end(batch)
        clock.on_epoch_end(epoch)
    clock.on_train_end()
    return clock


def test_the_first_calls_excess_over_a_steady_call_is_compiling(fake_time):
    clock = _fit(fake_time, [[5.0, 1.0, 1.0], [1.0, 1.0, 1.0]])

    assert clock.train_compile_seconds == pytest.approx(4.0)
    assert clock.train_phase_seconds - clock.train_compile_seconds == pytest.approx(6.0)
    assert clock.knows_steady_training


def test_a_one_call_first_epoch_takes_its_steady_call_from_the_next_epoch(fake_time):
    clock = _fit(fake_time, [[5.0], [1.0], [1.0]])

    assert clock.train_compile_seconds == pytest.approx(4.0)
    assert clock.train_phase_seconds - clock.train_compile_seconds == pytest.approx(3.0)
    assert clock.knows_steady_training


def test_a_single_step_fit_has_no_steady_speed(fake_time):
    clock = _fit(fake_time, [[5.0]])

    assert clock.train_compile_seconds == pytest.approx(5.0)
    assert not clock.knows_steady_training
