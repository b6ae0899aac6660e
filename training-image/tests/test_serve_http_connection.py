"""serve/http_connection.py in process, with a recording transport: thousands of request streams, cut at random
points and mutated at random, in the time one real connection takes (test_serve_http_fuzz.py has the real server).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import orjson
import pytest

from dlplatform.serve.http_connection import (
    PAUSE_QUEUED_REQUESTS,
    HttpConnection,
    HttpLimits,
    Request,
    Respond,
)
from dlplatform.serve.limits import RequestLimits
from dlplatform.serve.server import ModelServer, ServerSettings

LIMITS = HttpLimits(max_body=1000, drain=4000, read_timeout=5)


class Transport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "a write after close"
        self.data += data

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


def _echo(request: Request, respond: Respond) -> None:
    respond(HTTPStatus.OK, orjson.dumps([request.method, request.path, request.body.decode("latin-1")]), [])


def _connect(handler: Callable[[Request, Respond], None] = _echo) -> tuple[HttpConnection, Transport]:
    connection = HttpConnection(handler, LIMITS, set())
    transport = Transport()
    connection.connection_made(transport)  # type: ignore[arg-type]
    return connection, transport


def _statuses(data: bytes) -> list[tuple[int, bytes]]:
    answers = []
    while data:
        head, sep, data = bytes(data).partition(b"\r\n\r\n")
        assert sep
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:"))
        answers.append((int(lines[0].split(b" ")[1]), data[:length]))
        data = data[length:]
    return answers


def _in_loop(test: Callable[[], None]) -> None:
    async def run() -> None:
        test()

    asyncio.run(run())


def _stream() -> bytes:
    return b"".join(
        [
            b"POST /invocations HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            b"GET /ping?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: x\r\n\r\n",
            b"POST /invocations HTTP/1.1\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000,  # 413, drained, kept
            b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"POST /invocations HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        ]
    )


def test_a_stream_cut_anywhere_gets_the_same_answers() -> None:
    def check() -> None:
        whole_connection, whole = _connect()
        whole_connection.data_received(_stream())
        expected = _statuses(whole.data)
        assert [s for s, _ in expected] == [200, 200, 200, 413, 200, 200]
        assert expected[2][1] == b'["POST","/invocations","abcde"]'
        rng = random.Random(1)
        for _ in range(500):
            connection, transport = _connect()
            data = _stream()
            cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 40)))
            for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
                connection.data_received(data[start:end])
            assert _statuses(transport.data) == expected, cuts
            assert not transport.closed

    _in_loop(check)


def test_random_mutations_never_raise_never_answer_5xx_and_close_after_a_refusal() -> None:
    alphabet = b"\r\n :;0123456789abcdefABCDEF-+\t\x00\xff,/?"

    def check() -> None:
        rng = random.Random(21)
        for _ in range(5000):
            raw = bytearray(_stream())
            for _ in range(rng.randint(1, 6)):
                at = rng.randrange(len(raw))
                action = rng.randrange(3)
                if action == 0:
                    raw[at] = rng.choice(alphabet)
                elif action == 1:
                    del raw[at : at + rng.randint(1, 16)]
                else:
                    raw[at:at] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 16)))
            connection, transport = _connect()
            cuts = sorted(rng.sample(range(1, len(raw)), min(len(raw) - 1, rng.randint(0, 8))))
            for start, end in zip([0, *cuts], [*cuts, len(raw)], strict=True):
                connection.data_received(bytes(raw[start:end]))
            answers = _statuses(transport.data)
            assert all(status < 500 for status, _ in answers), (bytes(raw), answers)
            refusals = [i for i, (status, _) in enumerate(answers) if status >= 400 and status != 413]
            if refusals:  # the parser refused a request: that is the last answer, and the connection closed
                assert refusals[0] == len(answers) - 1, (bytes(raw), answers)
                assert transport.closed

    _in_loop(check)


def test_pipelined_requests_wait_their_turn_and_a_long_queue_pauses_reading() -> None:
    held: list[tuple[Request, Respond]] = []

    def check() -> None:
        connection, transport = _connect(lambda request, respond: held.append((request, respond)))
        ping = b"GET /ping HTTP/1.1\r\n\r\n"
        connection.data_received(ping * (PAUSE_QUEUED_REQUESTS + 2))
        assert len(held) == 1  # one request at a time with the application
        assert transport.paused
        answered = 0
        while held:
            _, respond = held.pop(0)
            respond(HTTPStatus.OK, b"{}", [])
            respond(HTTPStatus.OK, b"{}", [])  # a second answer for the same request is ignored
            answered += 1
        assert answered == PAUSE_QUEUED_REQUESTS + 2
        assert [s for s, _ in _statuses(transport.data)] == [200] * answered
        assert not transport.paused
        assert connection.idle

    _in_loop(check)


def test_a_handler_that_raises_is_a_500_and_the_connection_goes_on() -> None:
    calls = []

    def handler(request: Request, respond: Respond) -> None:
        calls.append(request.path)
        if request.path == "/boom":
            raise RuntimeError("bug")
        _echo(request, respond)

    def check() -> None:
        connection, transport = _connect(handler)
        connection.data_received(b"GET /boom HTTP/1.1\r\n\r\nGET /ping HTTP/1.1\r\n\r\n")
        assert [s for s, _ in _statuses(transport.data)] == [500, 200]
        assert calls == ["/boom", "/ping"]
        assert not transport.closed

    _in_loop(check)


def test_read_timeouts_close_idle_connections_and_answer_a_stalled_request_408() -> None:
    def check() -> None:
        idle, idle_transport = _connect()
        idle.data_received(b"GET /ping HTTP/1.1\r\n\r\n")
        stalled, stalled_transport = _connect()
        stalled.data_received(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        now = asyncio.get_running_loop().time()
        for connection in (idle, stalled):
            connection.check_timeouts(now + LIMITS.read_timeout / 2)
        assert not idle_transport.closed
        assert not stalled_transport.closed
        for connection in (idle, stalled):
            connection.check_timeouts(now + LIMITS.read_timeout * 2)
        assert idle_transport.closed
        assert stalled_transport.closed
        assert [s for s, _ in _statuses(stalled_transport.data)] == [408]

    _in_loop(check)


def test_the_read_timeout_setting_reaches_gunicorn_and_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    assert ServerSettings.from_env({}, cuda_devices=0).read_timeout == 30
    settings = ServerSettings.from_env({"MODEL_SERVER_READ_TIMEOUT": "5"}, cuda_devices=0)
    assert ModelServer(settings, tmp_path, RequestLimits.load({})).cfg.keepalive == 5  # worker.py reads it there
    for bad in ("0", "-1", "2.5", "soon", "3601"):
        with pytest.raises(ValueError, match=f"MODEL_SERVER_READ_TIMEOUT='{bad}' must be a whole number from 1 to"):
            ServerSettings.from_env({"MODEL_SERVER_READ_TIMEOUT": bad}, cuda_devices=0)
