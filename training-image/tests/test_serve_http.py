"""The model server's HTTP layer through raw sockets: keep-alive, pipelining, framing and malformed requests.

More malformed and hostile input: test_serve_http_fuzz.py."""

from __future__ import annotations

import json

import pytest

from .conftest import Server
from .raw_http import RawConnection, head, post
from .test_serve import LABELS, ROWS, _csv_body


def _one_row(i: int) -> bytes:
    return json.dumps({"instances": [ROWS[i]]}).encode()


def test_pipelined_requests_on_one_connection_are_answered_in_order(server: Server) -> None:
    requests = [
        post("/invocations", _one_row(0)),
        post("/invocations", b"{not json"),
        post("/invocations", _csv_body(ROWS[1:3]), "text/csv"),
        b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n",
        post("/invocations", _one_row(3)),
    ]
    with RawConnection(server.port) as connection:
        connection.send(b"".join(requests))
        answers = [connection.read_response() for _ in requests]

    assert [a.status for a in answers] == [200, 400, 200, 200, 200]
    assert [p["label"] for p in answers[0].json()["predictions"]] == [LABELS[0]]
    assert "Invalid JSON" in answers[1].json()["error"]
    assert [p["label"] for p in answers[2].json()["predictions"]] == LABELS[1:3]
    assert answers[3].json()["status"] == "healthy"
    assert [p["label"] for p in answers[4].json()["predictions"]] == [LABELS[3]]


def test_keeps_the_connection_after_a_4xx_and_a_drained_413(server: Server) -> None:
    too_big = 6 * 1024 * 1024 + 1
    with RawConnection(server.port) as connection:
        connection.send(post("/invocations", b"[1,"))
        assert connection.read_response().status == 400
        connection.send(post("/invocations", b"0" * too_big, "text/csv"))
        assert connection.read_response().status == 413
        connection.send(post("/invocations", _one_row(4)))
        answer = connection.read_response()
    assert answer.status == 200
    assert answer.json()["predictions"][0]["label"] == LABELS[4]


def test_answers_expect_100_continue_before_the_body(server: Server) -> None:
    body = _one_row(5)
    with RawConnection(server.port) as connection:
        extra = f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n"
        connection.send(head("/invocations", "application/json", extra))
        interim = connection.read_response()
        connection.send(body)
        final = connection.read_response()
    assert interim.status == 100
    assert final.status == 200
    assert final.json()["predictions"][0]["label"] == LABELS[5]


def test_reads_a_chunked_body(server: Server) -> None:
    body = _one_row(6)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    with RawConnection(server.port) as connection:
        connection.send(head("/invocations", "application/json", "Transfer-Encoding: chunked\r\n") + chunks)
        answer = connection.read_response()
    assert answer.status == 200
    assert answer.json()["predictions"][0]["label"] == LABELS[6]


def test_http_1_0_gets_an_answer_and_the_connection_is_closed(server: Server) -> None:
    with RawConnection(server.port) as connection:
        connection.send(b"GET /ping HTTP/1.0\r\n\r\n")
        answer = connection.read_response()
        assert answer.status == 200
        assert answer.headers["connection"] == "close"
        assert connection.closed_by_server()


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"NONSENSE\r\n\r\n", 400, "Malformed request: Invalid method"),
        (b"GET /ping HTTP/2.0\r\n\r\n", 400, "Only HTTP/1.0 and HTTP/1.1"),
        (b"GET /ping HTTP/1.1\r\nno colon here\r\n\r\n", 400, "Malformed request: Invalid header token"),
        (b"POST /invocations HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, "Invalid character in Content-Length"),
        (
            b"POST /invocations HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
            "Transfer-Encoding can't be present with Content-Length",
        ),
        (b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "Unsupported Transfer-Encoding: gzip"),
        (
            b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            400,
            "Unsupported Transfer-Encoding: gzip, chunked",
        ),
        (b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "Invalid character in chunk"),
        (b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "over 64 KB"),
    ],
    ids=[
        "request line", "version", "header line", "content-length", "length and chunked", "gzip", "gzip-chunked",
        "chunk", "head",
    ],
)  # fmt: skip
def test_a_malformed_request_gets_a_4xx_with_a_json_error_and_close(
    server: Server, raw: bytes, status: int, message: str
) -> None:
    with RawConnection(server.port) as connection:
        connection.send(raw)
        answer = connection.read_response()
        assert connection.closed_by_server()
    assert answer.status == status
    assert message in answer.json()["error"]
    assert answer.headers["connection"] == "close"
