"""Malformed and hostile HTTP against a real `serve` process: each gets a 4xx or a closed connection, never a
5xx or a hang, nothing smuggled past the parser, and the server goes on serving.

The server here reads requests with a short timeout (READ_TIMEOUT); every wait in these tests is bounded by a
socket timeout far above it (CLIENT_TIMEOUT), so a hang fails the test instead of passing by the same figure.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Server
from .raw_http import RawResponse, post
from .support import free_port, request, running_server
from .test_serve import ROWS

READ_TIMEOUT = 2  # MODEL_SERVER_READ_TIMEOUT of the server under test, seconds
CLIENT_TIMEOUT = 30  # the longest any read here waits: a hang, not a slow answer
PING = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
BODY = json.dumps({"instances": [ROWS[0]]}).encode()


@pytest.fixture(scope="module")
def strict(serving_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("strict-server") / "server.log"
    settings = {"MODEL_SERVER_WORKERS": "1", "MODEL_SERVER_READ_TIMEOUT": str(READ_TIMEOUT)}
    with running_server(serving_root, port, log, settings) as process:
        yield Server(port, process, log)
        assert process.poll() is None, "the server died under malformed input"
    assert "Traceback" not in log.read_text()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a socket timeout (a hang) fails the test."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def _responses(data: bytes) -> list[RawResponse]:
    answers = []
    while data:
        head, sep, data = data.partition(b"\r\n\r\n")
        assert sep, f"a cut-off response head: {head!r}"
        lines = head.decode("latin-1").split("\r\n")
        headers = {n.strip().lower(): v.strip() for n, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        assert len(data) >= length, "a cut-off response body"
        answers.append(RawResponse(int(lines[0].split(" ")[1]), headers, data[:length]))
        data = data[length:]
    return answers


def exchange(port: int, raw: bytes, *, half_close: bool = True) -> list[RawResponse]:
    """Sends ``raw`` (then says it is done sending) and returns every answer until the server closes."""
    with _connect(port) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return [a for a in _responses(_read_to_end(sock)) if a.status != 100]


def _assert_serving(port: int) -> None:
    assert request(port, "GET", "/ping", timeout=CLIENT_TIMEOUT).status == 200


def _chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


CHUNKED_HEAD = (
    b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
)

# Each is refused with a 4xx and the connection closes: the PING sent right behind it is never answered, so nothing
# after a request the parser refused can be read as a request of its own (request smuggling).
REFUSED = {
    "bad method": b"G@T /ping HTTP/1.1\r\n\r\n",
    "no version": b"GET /ping\r\n\r\n",
    "extra token": b"GET /ping HTTP/1.1 x\r\n\r\n",
    "bare LF": b"GET /ping HTTP/1.1\nHost: x\n\n",
    "control character in target": b"GET /pi\x01ng HTTP/1.1\r\n\r\n",
    "space before colon": b"GET /ping HTTP/1.1\r\nHost : x\r\n\r\n",
    "folded header": b"GET /ping HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n",
    "HTTP/0.9": b"GET /ping HTTP/0.9\r\n\r\n",
    "HTTP/2.0": b"GET /ping HTTP/2.0\r\n\r\n",
    "HTTP/1.2": b"GET /ping HTTP/1.2\r\n\r\n",
    "length not a number": b"POST /invocations HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    "length with a sign": b"POST /invocations HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
    "negative length": b"POST /invocations HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "two lengths in one": b"POST /invocations HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
    "length overflow": b"POST /invocations HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "duplicate equal lengths": b"POST /invocations HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    "conflicting lengths": b"POST /invocations HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    "CL.TE": b"POST /invocations HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "TE.CL": b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    "TE not last chunked": b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "TE gzip then chunked": b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "TE lookalike": b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "TE twice": b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",  # noqa: E501
    "chunk size not hex": CHUNKED_HEAD + b"\r\nzz\r\n",
    "chunk size negative": CHUNKED_HEAD + b"\r\n-1\r\nx\r\n0\r\n\r\n",
    "chunk size overflow": CHUNKED_HEAD + b"\r\nffffffffffffffffff\r\n",
    "chunk data too long": CHUNKED_HEAD + b"\r\n2\r\nabc\r\n0\r\n\r\n",
    "chunk without CRLF": CHUNKED_HEAD + b"\r\n2\r\nab0\r\n\r\n",
    "header over 64 KB": b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "target over 64 KB": b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    "many headers over 64 KB": b"GET /ping HTTP/1.1\r\n"
    + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 90) for i in range(800)),
}


@pytest.mark.parametrize("raw", list(REFUSED.values()), ids=list(REFUSED))
def test_a_malformed_request_is_refused_with_a_4xx_and_nothing_behind_it_is_read(strict: Server, raw: bytes) -> None:
    answers = exchange(strict.port, raw + PING, half_close=False)
    assert len(answers) == 1, f"expected one refusal, got {[a.status for a in answers]}"
    assert 400 <= answers[0].status < 500
    assert answers[0].json()["error"]
    assert answers[0].headers["connection"] == "close"
    _assert_serving(strict.port)


def test_pipelined_requests_after_a_good_one_stop_at_the_first_malformed_one(strict: Server) -> None:
    raw = PING + post("/invocations", BODY) + b"GET /ping HTTP/1.1\r\nBad Header\r\n\r\n" + PING
    statuses = [a.status for a in exchange(strict.port, raw, half_close=False)]
    assert statuses == [200, 200, 400]


def test_a_request_sent_one_byte_at_a_time_is_answered(strict: Server) -> None:
    raw = post("/invocations", BODY) + CHUNKED_HEAD + b"\r\n" + _chunked(BODY[:7], BODY[7:])
    with _connect(strict.port) as sock:
        for i in range(len(raw)):
            sock.sendall(raw[i : i + 1])
        sock.shutdown(socket.SHUT_WR)
        answers = _responses(_read_to_end(sock))
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()


def test_an_upgrade_request_is_answered_and_nothing_after_it_is_read(strict: Server) -> None:
    upgrade = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    answers = exchange(strict.port, upgrade + PING, half_close=False)
    assert [a.status for a in answers] == [200]
    assert answers[0].headers["connection"] == "close"


def test_chunk_extensions_and_trailers_are_accepted(strict: Server) -> None:
    body = b"%x;name=value\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (len(BODY), BODY)
    answers = exchange(strict.port, CHUNKED_HEAD + b"\r\n" + body)
    assert [a.status for a in answers] == [200]


@pytest.mark.parametrize(
    "raw",
    [
        CHUNKED_HEAD + b"\r\n5\r\nab",  # inside a chunk
        CHUNKED_HEAD + b"\r\n2\r\nab\r\n",  # no last chunk
        b"POST /invocations HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",  # body shorter than its length
        b"GET /ping HTTP/1.1\r\nHost: x\r\n",  # head without its end
    ],
    ids=["in a chunk", "no last chunk", "short body", "head"],
)
def test_a_truncated_request_gets_no_answer_and_the_connection_closes(strict: Server, raw: bytes) -> None:
    assert exchange(strict.port, raw) == []  # the client closed its side: nothing to answer
    _assert_serving(strict.port)


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /ping HTTP/1.1\r\nHost: x\r\n",
        b"POST /invocations HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",
        CHUNKED_HEAD + b"\r\n5\r\nab",
    ],
    ids=["head", "body", "chunk"],
)
def test_a_request_that_stalls_gets_408_after_the_read_timeout(strict: Server, raw: bytes) -> None:
    started = time.monotonic()
    answers = exchange(strict.port, raw, half_close=False)
    assert [a.status for a in answers] == [408]
    assert "did not arrive in full" in answers[0].json()["error"]
    assert time.monotonic() - started >= READ_TIMEOUT


def test_a_slowloris_head_trickling_in_is_cut_off_by_the_read_timeout(strict: Server) -> None:
    """Bytes keep coming, so an idle timeout would never fire: the request as a whole has a deadline."""
    with _connect(strict.port) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\n")
        deadline = time.monotonic() + CLIENT_TIMEOUT
        answer = b""
        while time.monotonic() < deadline:
            try:
                sock.sendall(b"X-a: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.2)
            sock.setblocking(False)
            try:
                chunk = sock.recv(65536)
                answer += chunk
                if not chunk:
                    break
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
        assert time.monotonic() < deadline, "the server kept reading a head that never ends"
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_an_idle_keep_alive_connection_is_closed(strict: Server) -> None:
    with _connect(strict.port) as sock:
        started = time.monotonic()  # before the send: the server's idle clock starts later
        sock.sendall(PING)
        answers = _responses(_read_to_end(sock))
    assert [a.status for a in answers] == [200]
    assert time.monotonic() - started >= READ_TIMEOUT


def test_http_1_0_keeps_the_connection_only_when_asked(strict: Server) -> None:
    raw = b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + b"GET /ping HTTP/1.0\r\n\r\n" + PING
    answers = exchange(strict.port, raw, half_close=False)
    assert [a.status for a in answers] == [200, 200]
    assert [a.headers["connection"] for a in answers] == ["keep-alive", "close"]


def test_a_too_large_chunked_body_gets_413_and_the_connection_closes(strict: Server) -> None:
    chunk = b"1" * (1024 * 1024)
    raw = CHUNKED_HEAD.replace(b"application/json", b"text/csv") + b"\r\n" + _chunked(*[chunk] * 7) + PING
    answers = exchange(strict.port, raw)
    assert [a.status for a in answers] == [413]
    assert answers[0].headers["connection"] == "close"


def test_a_body_far_over_the_drain_limit_is_cut_off_after_the_413(strict: Server) -> None:
    length = 1024**3  # far over 8x the 6 MB cap: the server stops reading after the drain limit
    head = b"POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n" % length
    with _connect(strict.port) as sock:
        sock.sendall(head)
        sent, cut_off = 0, False
        while sent < length and not cut_off:
            try:
                sent += sock.send(b"1" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
        assert cut_off
        assert sent < 100 * 1024 * 1024
    _assert_serving(strict.port)


def _mutations(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    seeds = [
        post("/invocations", BODY),
        CHUNKED_HEAD + b"\r\n" + _chunked(BODY[:9], BODY[9:]),
        PING + post("/invocations", BODY),
        b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ]
    alphabet = b"\r\n :;0123456789abcdefABCDEF-+\t\x00\xff,"
    for _ in range(count):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raw))
            action = rng.randrange(3)
            if action == 0:
                raw[at] = rng.choice(alphabet)
            elif action == 1:
                del raw[at : at + rng.randint(1, 8)]
            else:
                raw[at:at] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        yield bytes(raw)


def test_randomly_mutated_requests_never_get_a_5xx_or_hang(strict: Server) -> None:
    for raw in _mutations(seed=21, count=300):
        answers = exchange(strict.port, raw)
        assert all(a.status < 500 for a in answers), (raw, [(a.status, a.body) for a in answers])
    _assert_serving(strict.port)
