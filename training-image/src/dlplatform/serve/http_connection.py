"""One client connection of the model server, parsed by httptools (llhttp, the parser behind uvicorn and Node.js).

llhttp does the HTTP/1.1 framing: request line, headers, Content-Length, chunked bodies, and refusing what could
smuggle a request (Content-Length with Transfer-Encoding, duplicate or malformed lengths, bad chunk sizes). This
module adds what the SageMaker container contract needs on top:

- keep-alive and pipelining: requests are answered in order, one at a time per connection (later ones wait,
  parsed, in a queue; reading pauses while that queue is long);
- a body cap: a Content-Length over it is answered 413 from the head alone, and the body (up to ``drain``
  bytes) is read and dropped so the client gets to read the answer;
- a head cap (431) and a read timeout (408), so a slow or endless head cannot hold a connection;
- ``Expect: 100-continue``, and a JSON 4xx for every malformed request, after which the connection closes.

The application gets a :class:`Request` and a ``respond`` callback it calls once, now or later (after a
batch ran).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import httptools
import orjson

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
PAUSE_QUEUED_BYTES = 1024 * 1024  # stop reading a pipelining client while this much waits behind its request
PAUSE_QUEUED_REQUESTS = 64

_STATUS_LINES = {status: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_VERSIONS = ("1.0", "1.1")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes


Respond = Callable[[HTTPStatus, bytes, list[tuple[str, str]]], None]
Handler = Callable[[Request, Respond], None]


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})


def too_large_message(size: int, limit: int) -> str:
    return f"The payload ({size} bytes) is over the limit of {limit} bytes ({limit / 2**20:g} MB); send smaller batches"


@dataclass(frozen=True)
class HttpLimits:
    max_body: int  # bytes; larger bodies get 413
    drain: int  # bytes of a too-large body read and thrown away so the client sees the 413; then we close
    read_timeout: float = 30.0  # seconds a request may take to arrive from its first byte; also the keep-alive


@dataclass(slots=True)
class _Turn:
    """An answer owed, in request order: a request for the application, or a refusal ready to send."""

    keep_alive: bool
    http10: bool
    request: Request | None = None
    status: HTTPStatus = HTTPStatus.OK
    message: str = ""


class _Refused(Exception):
    """Raised from a parser callback: stop parsing, answer this."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Stop(Exception):
    """Raised from a parser callback: stop parsing, nothing more to answer."""


class HttpConnection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, limits: HttpLimits, connections: set[HttpConnection]) -> None:
        self._handler = handler
        self._limits = limits
        self._connections = connections
        self._parser = httptools.HttpRequestParser(self)
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.last_active = self._loop.time()
        self._turns: deque[_Turn] = deque()
        self._queued_bytes = 0  # request bodies waiting in _turns
        self._busy = False  # a request is with the application
        self._answering: _Turn | None = None  # that request's turn
        self._in_turns = False  # _next_turn is running (a respond called at once must not re-enter it)
        self._paused = False
        self._stopped = False  # no further request is read: a malformed one, Connection: close, an upgrade
        self._draining = False  # reading and dropping the body of a request refused for its size
        self._closing = False  # graceful stop: answer the request in flight, then close
        self._closed = False
        # the request being parsed
        self._messages = 0
        self._in_message = False
        self._in_head = False
        self._http10 = False
        self._started = 0.0
        self._url = bytearray()
        self._headers: dict[str, str] = {}
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport: create_server makes them
        self._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        self._closed = True

    def eof_received(self) -> bool:
        """The client is done sending: answer the requests read in full, then close; a partial one is dropped."""
        self._stopped = True
        self._draining = False
        self._maybe_close()
        return True  # keep the transport open for the answers still owed

    def data_received(self, data: bytes) -> None:
        if self._stopped and not self._draining:
            return
        self.last_active = self._loop.time()
        head_before, messages_before = self._in_head, self._messages
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._stop()  # the request that asked is answered; what follows it is not HTTP/1.1
            if self._turns:
                self._turns[-1].keep_alive = False
        except httptools.HttpParserError as error:
            self._draining = False  # the parser is done with this connection
            cause = error.__context__
            if isinstance(cause, _Refused):
                self._refuse(cause.status, str(cause), keep_alive=False)
            elif not isinstance(cause, _Stop):
                self._refuse(HTTPStatus.BAD_REQUEST, f"Malformed request: {error}", keep_alive=False)
            self._stop()
        else:
            # llhttp keeps a partial header value to itself: count the whole reads spent inside one head (the
            # read the head started in is left out, as it may hold the end of the previous request).
            if head_before and self._in_head and messages_before == self._messages:
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, _head_message(), keep_alive=False)
                    self._stop()
        self._next_turn()
        if self._busy and not self._paused and self.transport is not None and self._queue_is_long():
            self._paused = True
            self.transport.pause_reading()

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._stopped or self._closing:
            raise _Stop
        self._messages += 1
        self._in_message = self._in_head = True
        self._started = self.last_active
        self._http10 = False
        self._url = bytearray()
        self._headers = {}
        self._head_bytes = 0
        self._body = []
        self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1").strip()

    def on_headers_complete(self) -> None:
        self._in_head = False
        # HTTP suggests 505 and 501 for these two (RFC 9112 sections 2.3 and 6.1), but SageMaker counts every 5xx
        # as the model's error (the Invocation5XXErrors metric and its alarms): the client's mistake is a 400.
        # https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
        version = self._parser.get_http_version()
        self._http10 = version == "1.0"
        if version not in _VERSIONS:
            raise _Refused(HTTPStatus.BAD_REQUEST, "Only HTTP/1.0 and HTTP/1.1 are supported")
        headers = self._headers
        encoding = headers.get("transfer-encoding")
        if encoding is not None and encoding.lower() != "chunked":  # llhttp passes "gzip, chunked"
            raise _Refused(HTTPStatus.BAD_REQUEST, f"Unsupported Transfer-Encoding: {encoding}; send it unencoded")
        length_text = headers.get("content-length")
        length = int(length_text) if length_text is not None else 0  # llhttp checked it: digits only, no repeats
        if length > self._limits.max_body:
            self._refuse_too_large(length, known_length=True)
            return
        expects_body = length > 0 or encoding is not None
        if expects_body and headers.get("expect", "").lower() == "100-continue" and not (self._busy or self._turns):
            self._write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._draining:
            if self._body_bytes > self._limits.drain:
                self._draining = False
                raise _Stop
            return
        if self._body_bytes > self._limits.max_body:  # chunked: the size shows only as it arrives
            self._body = []
            self._refuse_too_large(self._body_bytes, known_length=False)
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        if self._draining:  # refused for its size: answered already
            self._draining = False
            return
        try:
            method = self._parser.get_method().decode("ascii")
            path = bytes(self._url).split(b"?", 1)[0].decode("ascii")
        except UnicodeDecodeError:
            raise _Refused(HTTPStatus.BAD_REQUEST, "Malformed request line") from None
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body = []
        keep_alive = self._parser.should_keep_alive()
        request = Request(method, path, self._headers, body)
        self._turns.append(_Turn(keep_alive, self._http10, request))
        self._queued_bytes += len(body)
        if not keep_alive:
            self._stopped = True

    # called by the worker

    @property
    def idle(self) -> bool:
        return not self._busy and not self._turns and not self._in_message

    def shut_down(self) -> None:
        """Graceful stop: close now when idle, else after answering the request being read or answered."""
        self._closing = True
        self._maybe_close()

    def check_timeouts(self, now: float) -> None:
        """Closes a keep-alive connection idle for the read timeout; 408 to a request not in full by then."""
        timeout = self._limits.read_timeout
        if self.idle:
            if now - self.last_active > timeout:
                self._close()
        elif self._in_message and not self._busy and not self._turns and now - self._started > timeout:
            if self._draining:  # its 413 went out already
                self._close()
                return
            message = f"The request did not arrive in full within {timeout:g} seconds"
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, message, keep_alive=False)
            self._stop()
            self._next_turn()

    # answering

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise _Refused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, _head_message())

    def _refuse_too_large(self, size: int, *, known_length: bool) -> None:
        """413 in this request's turn. Its body is read and dropped (up to the drain limit) so that the client,
        still sending, gets to read the answer; the connection stays open when the body's end is known and
        within that limit, else it closes after the drain."""
        keep_alive = known_length and size <= self._limits.drain and self._parser.should_keep_alive()
        self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_large_message(size, self._limits.max_body), keep_alive)
        self._draining = True
        if not keep_alive:
            self._stopped = True
        self._next_turn()

    def _refuse(self, status: HTTPStatus, message: str, keep_alive: bool) -> None:
        http10 = self._in_message and not self._in_head and self._http10
        self._turns.append(_Turn(keep_alive, http10, status=status, message=message))

    def _next_turn(self) -> None:
        """Answers what is owed, in order, until a request is with the application; closes when all is done."""
        if self._in_turns:
            return
        self._in_turns = True
        try:
            while not self._busy and self._turns and not self._closed:
                turn = self._turns.popleft()
                if turn.request is None:
                    log.info("-> %d: %s", turn.status.value, turn.message)
                    self._send(turn, turn.status, error_body(turn.message), [])
                else:
                    self._queued_bytes -= len(turn.request.body)
                    self._dispatch(turn)
        finally:
            self._in_turns = False
        self._maybe_close()
        if self._paused and not self._queue_is_long() and self.transport is not None and not self._closed:
            self._paused = False
            self.transport.resume_reading()

    def _queue_is_long(self) -> bool:
        return self._queued_bytes > PAUSE_QUEUED_BYTES or len(self._turns) >= PAUSE_QUEUED_REQUESTS

    def _dispatch(self, turn: _Turn) -> None:
        request = turn.request
        assert request is not None
        self._busy = True
        self._answering = turn
        try:
            self._handler(request, self._respond)
        except Exception:
            log.exception("Unexpected error handling %s %s", request.method, request.path)
            self._respond(HTTPStatus.INTERNAL_SERVER_ERROR, error_body("Internal server error"), [])

    def _respond(self, status: HTTPStatus, body: bytes, headers: list[tuple[str, str]]) -> None:
        """The application's answer to the request it holds; a second call for the same request is ignored."""
        turn = self._answering
        if turn is None:
            return
        self._answering = None
        self._busy = False
        request = turn.request
        self._send(turn, status, body, headers, head_only=request is not None and request.method == "HEAD")
        self._next_turn()

    def _send(
        self, turn: _Turn, status: HTTPStatus, body: bytes, headers: list[tuple[str, str]], head_only: bool = False
    ) -> None:
        if self._closed:
            return
        keep = turn.keep_alive and not self._closing
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
        if not keep:
            extra += "Connection: close\r\n"
        elif turn.http10:
            extra += "Connection: keep-alive\r\n"
        head = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        self._write(_STATUS_LINES[status] + head + (b"" if head_only else body))
        if not keep:
            self._stopped = True
            self._turns.clear()  # pipelined after a request that closes: never answered, as HTTP allows
            self._queued_bytes = 0

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self._closed:
            self.transport.write(data)

    def _stop(self) -> None:
        """No further request is read; the connection closes once the answers owed are sent."""
        self._stopped = True

    def _maybe_close(self) -> None:
        done_reading = self._stopped or (self._closing and not self._in_message)
        if done_reading and not self._busy and not self._turns and not self._draining:
            self._close()

    def _close(self) -> None:
        if not self._closed and self.transport is not None:
            self._closed = True
            self.transport.close()


def _head_message() -> str:
    return f"The request head is over {MAX_HEAD_BYTES // 1024} KB"
