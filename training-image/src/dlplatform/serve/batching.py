"""Dynamic micro-batching: requests that arrive together run through the model as one batch.

Everything runs on the worker's event loop. A request's rows wait at most ``max_delay`` seconds (default 0:
no added wait, only what queued up while the model was busy with the previous batch, so a lone request is
not slowed down and a busy worker batches more). A batch holds whole requests and at most ``max_rows`` rows,
except that a single request larger than that runs alone.

Every request is parsed and validated before it joins a batch, so a bad row is answered 4xx on its own. Should
the model still raise on a batch, each request in it is run again on its own, so one request can only fail
itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

Predict = Callable[[np.ndarray], np.ndarray]
Deliver = Callable[[np.ndarray | BaseException], None]


@dataclass(frozen=True)
class BatchSettings:
    max_rows: int = 64
    max_delay: float = 0.0  # seconds


class MicroBatcher:
    def __init__(self, predict: Predict, settings: BatchSettings, loop: asyncio.AbstractEventLoop) -> None:
        self._predict = predict
        self._settings = settings
        self._loop = loop
        self._queue: list[tuple[np.ndarray, Deliver]] = []
        self._queued_rows = 0
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self.batches = 0  # how many batches ran (for tests and logs)
        self.largest_batch = 0

    def submit(self, rows: np.ndarray, deliver: Deliver) -> None:
        """Queues ``rows``; ``deliver`` later gets their probabilities (same order) or the exception."""
        self._queue.append((rows, deliver))
        self._queued_rows += len(rows)
        full = self._queued_rows >= self._settings.max_rows
        if self._timer is None or (full and isinstance(self._timer, asyncio.TimerHandle)):
            if self._timer is not None:
                self._timer.cancel()
            delay = 0.0 if full else self._settings.max_delay
            self._timer = self._loop.call_soon(self._run) if delay <= 0 else self._loop.call_later(delay, self._run)

    def _take_batch(self) -> list[tuple[np.ndarray, Deliver]]:
        taken, rows = 0, 0
        for rows_i, _ in self._queue:
            if taken and rows + len(rows_i) > self._settings.max_rows:
                break
            taken += 1
            rows += len(rows_i)
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        self._queued_rows -= rows
        return batch

    def _run(self) -> None:
        self._timer = None
        batch = self._take_batch()
        if self._queue:  # the rest already waited; they go next, after I/O that is ready now
            self._timer = self._loop.call_soon(self._run)
        self.batches += 1
        self.largest_batch = max(self.largest_batch, sum(len(rows) for rows, _ in batch))
        if len(batch) == 1:
            self._run_alone(*batch[0])
            return
        try:
            probabilities = self._predict(np.concatenate([rows for rows, _ in batch]))
        except Exception:
            log.warning("A batch of %d requests failed; running each on its own", len(batch), exc_info=True)
            for rows, deliver in batch:
                self._run_alone(rows, deliver)
            return
        start = 0
        for rows, deliver in batch:
            _deliver(deliver, probabilities[start : start + len(rows)])
            start += len(rows)

    def _run_alone(self, rows: np.ndarray, deliver: Deliver) -> None:
        try:
            result: np.ndarray | BaseException = self._predict(rows)
        except Exception as error:  # noqa: BLE001 - the request's own failure is its answer (a 500)
            result = error
        _deliver(deliver, result)


def _deliver(deliver: Deliver, result: np.ndarray | BaseException) -> None:
    try:
        deliver(result)
    except Exception:  # one request's answer failing to go out must not stop the others'
        log.exception("Delivering a prediction failed")
