"""A Keras callback that separates the time spent compiling from the time spent training."""

import time
from dataclasses import dataclass
from typing import Any

import keras


@dataclass
class _Phase:
    """Calls into the backend of one kind (train or test) within one epoch."""

    begun: float = 0.0
    first_call: float | None = None
    last_call: float | None = None
    calls: int = 0

    def record_call(self) -> None:
        now = time.monotonic()
        if self.first_call is None:
            self.first_call = now
        self.last_call = now
        self.calls += 1

    @property
    def first_call_seconds(self) -> float:
        return (self.first_call or self.begun) - self.begun

    @property
    def steady_call_seconds(self) -> float | None:
        if self.calls < 2 or self.first_call is None or self.last_call is None:
            return None
        return (self.last_call - self.first_call) / (self.calls - 1)

    @property
    def seconds(self) -> float:
        return (self.last_call or self.begun) - self.begun


class StepClock(keras.callbacks.Callback):
    """The first call of the train and the test step includes tracing and compiling them; its
    excess over a steady call is counted as compile time, the rest as training. A steady call
    is timed in the first epoch, or, where that epoch had one call only, in the next one."""

    def __init__(self) -> None:
        super().__init__()
        self._first_train: _Phase | None = None
        self._first_test: _Phase | None = None
        # A call's seconds after the first phase of its kind, where that phase had one call.
        self._later_train_call: float | None = None
        self._later_test_call: float | None = None
        self._train = _Phase()
        self._test = _Phase()
        self.train_phase_seconds = 0.0
        self._fit_begun = 0.0
        self.fit_seconds = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._fit_begun = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._train = _Phase(begun=time.monotonic())

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._train.record_call()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.train_phase_seconds += self._train.seconds
        if self._first_train is None:
            self._first_train = self._train
        elif self._later_train_call is None:
            self._later_train_call = _mean_call_seconds(self._train)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._test = _Phase(begun=time.monotonic())

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._test.record_call()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._first_test is None:
            self._first_test = self._test
        elif self._later_test_call is None:
            self._later_test_call = _mean_call_seconds(self._test)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.fit_seconds = time.monotonic() - self._fit_begun

    @property
    def compile_seconds(self) -> float:
        return self.train_compile_seconds + _excess(self._first_test, self._later_test_call)

    @property
    def train_compile_seconds(self) -> float:
        return _excess(self._first_train, self._later_train_call)

    @property
    def knows_steady_training(self) -> bool:
        """Whether a steady train call was timed: a fit of one step, in one epoch, is all
        compiling as far as this clock can tell, and has no training speed to report."""
        first = self._first_train
        return first is not None and (
            first.steady_call_seconds is not None or self._later_train_call is not None
        )


def _mean_call_seconds(phase: _Phase) -> float | None:
    return phase.seconds / phase.calls if phase.calls else None


def _excess(phase: _Phase | None, later_call: float | None) -> float:
    if phase is None:
        return 0.0
    steady = phase.steady_call_seconds or later_call
    return max(0.0, phase.first_call_seconds - (steady or 0.0))
