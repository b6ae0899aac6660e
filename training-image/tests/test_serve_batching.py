"""Micro-batching: concurrent requests share model calls, yet each gets exactly its own answer.

The first tests drive the real server with many concurrent clients; the others run the batcher in-process on
the real trained model, where what went into which batch can be seen.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from dlplatform.serve.batching import BatchSettings, MicroBatcher
from dlplatform.serve.predictor import Predictor

from .conftest import Server, TrainedModel
from .test_serve import LABELS, ROWS

TOLERANCE = 2e-6  # batched and single calls may round the 6th decimal differently


def _ask(connection: http.client.HTTPConnection, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    connection.request("POST", "/invocations", json.dumps(body).encode(), {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def _close(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    if [p["label"] for p in a] != [p["label"] for p in b]:
        return False
    return all(
        abs(x - y) <= TOLERANCE
        for pa, pb in zip(a, b, strict=True)
        for x, y in zip(pa["probabilities"].values(), pb["probabilities"].values(), strict=True)  # type: ignore[attr-defined]
    )


def test_concurrent_requests_are_each_answered_with_their_own_rows_in_order(server: Server) -> None:
    """16 clients on keep-alive connections, each sending 30 requests of 1-4 random rows, one in five bad."""
    alone = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    expected = {i: _ask(alone, {"instances": [ROWS[i]]})[1]["predictions"][0] for i in range(len(ROWS))}  # type: ignore[index]
    alone.close()

    def client(seed: int) -> list[str]:
        rng = random.Random(seed)
        problems = []
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            for n in range(30):
                picked = rng.sample(range(len(ROWS)), rng.randint(1, 4))
                instances = [ROWS[i] for i in picked]
                bad = n % 5 == seed % 5
                if bad:
                    instances[-1] = [*ROWS[0][:-1], "seven"]
                status, body = _ask(connection, {"instances": instances})
                if bad:
                    if status != 400 or 'is "seven", not a number' not in str(body.get("error")):
                        problems.append(f"bad request {n} of client {seed}: {status} {body}")
                elif status != 200 or not _close(body["predictions"], [expected[i] for i in picked]):  # type: ignore[arg-type]
                    problems.append(f"request {n} of client {seed} for rows {picked}: {status} {body}")
        finally:
            connection.close()
        return problems

    with ThreadPoolExecutor(16) as pool:
        problems = [problem for found in pool.map(client, range(16)) for problem in found]
    assert problems == []
    assert sum(expected[i]["label"] == LABELS[i] for i in range(len(ROWS))) / len(ROWS) >= 0.97  # type: ignore[index]


@pytest.fixture(scope="module")
def predictor(trained: TrainedModel) -> Predictor:
    return Predictor.load(Path(trained.root) / "model")


def _requests(sizes: list[int]) -> list[np.ndarray]:
    rows = np.asarray(ROWS, dtype=np.float32)
    starts = np.cumsum([0, *sizes[:-1]])
    return [rows[start : start + size] for start, size in zip(starts, sizes, strict=True)]


def _run(predict, settings: BatchSettings, requests: list[np.ndarray], gap_ticks: int = 0):  # type: ignore[no-untyped-def]
    """Submits ``requests`` (``gap_ticks`` event-loop turns apart); returns the answers and the batcher."""

    async def main():  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        batcher = MicroBatcher(predict, settings, loop)
        futures = [loop.create_future() for _ in requests]
        for rows, future in zip(requests, futures, strict=True):
            batcher.submit(rows, future.set_result)
            for _ in range(gap_ticks):
                await asyncio.sleep(0)
        return await asyncio.gather(*futures), batcher

    return asyncio.run(main())


def test_requests_submitted_together_run_as_one_batch_and_get_their_own_rows(predictor: Predictor) -> None:
    requests = _requests([1, 3, 2, 5, 1])
    answers, batcher = _run(predictor.predict_proba, BatchSettings(max_rows=64), requests)
    assert batcher.batches == 1
    assert batcher.largest_batch == 12
    for rows, answer in zip(requests, answers, strict=True):
        assert answer.shape == (len(rows), 10)
        np.testing.assert_allclose(answer, predictor.predict_proba(rows), atol=1e-5)


def test_a_batch_holds_at_most_max_rows_except_one_larger_request_alone(predictor: Predictor) -> None:
    requests = _requests([30, 30, 30, 100, 4])
    answers, batcher = _run(predictor.predict_proba, BatchSettings(max_rows=64), requests)
    assert batcher.batches == 4  # in arrival order: 30+30 | 30 | 100 alone | 4
    assert batcher.largest_batch == 100
    for rows, answer in zip(requests, answers, strict=True):
        np.testing.assert_allclose(answer, predictor.predict_proba(rows), atol=1e-5)


def test_a_request_that_makes_the_model_fail_fails_alone(predictor: Predictor) -> None:
    def predict(rows: np.ndarray) -> np.ndarray:
        if (rows < 0).any():  # a row a fitted transform might refuse
            raise ValueError("negative pixel")
        return predictor.predict_proba(rows)

    requests = _requests([2, 1, 3])
    requests[1] = -requests[1]
    answers, _ = _run(predict, BatchSettings(max_rows=64), requests)
    assert isinstance(answers[1], ValueError)
    np.testing.assert_allclose(answers[0], predictor.predict_proba(requests[0]), atol=1e-5)
    np.testing.assert_allclose(answers[2], predictor.predict_proba(requests[2]), atol=1e-5)


@pytest.mark.parametrize(("max_delay", "batches"), [(0.0, 3), (5.0, 1)])
def test_max_delay_lets_later_requests_join_the_batch(predictor: Predictor, max_delay: float, batches: int) -> None:
    requests = _requests([1, 1, 1])
    answers, batcher = _run(predictor.predict_proba, BatchSettings(max_rows=3, max_delay=max_delay), requests, 3)
    assert batcher.batches == batches
    assert len(answers) == 3
