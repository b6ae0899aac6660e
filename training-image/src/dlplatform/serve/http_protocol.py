"""A small HTTP/1.1 server protocol for asyncio: just what SageMaker's container contract needs.

Keep-alive and pipelining (answered in order, one request at a time per connection), Content-Length and
chunked bodies, ``Expect: 100-continue``, a body cap (413, with the body drained so the client reads the
answer), and a 4xx for every malformed request. Per request it costs a few microseconds of Python, which is
what lets one worker process serve thousands of requests a second (gunicorn's sync and threaded workers cost
far more per request).

The application gets a :class:`Request` and a ``respond`` callback it calls once, now or later (after a
batch ran).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import orjson

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
BUFFER_PAUSE_BYTES = 1024 * 1024  # stop reading a pipelining client while its request is in flight

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _TRAILERS, _DISCARD, _DONE = range(7)
_STATUS_LINES = {status: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes


Respond = Callable[[HTTPStatus, bytes, list[tuple[str, str]]], None]
Handler = Callable[[Request, Respond], None]


class ProtocolError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})


def too_large_message(size: int, limit: int) -> str:
    return f"The payload ({size} bytes) is over the limit of {limit} bytes ({limit / 2**20:g} MB); send smaller batches"


@dataclass(frozen=True)
class HttpLimits:
    max_body: int  # bytes; larger bodies get 413
    drain: int  # bytes of a too-large body read and thrown away so the client sees the 413; then we close


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, limits: HttpLimits, connections: set[HttpProtocol]) -> None:
        self._handler = handler
        self._limits = limits
        self._connections = connections
        self._buffer = bytearray()
        self._state = _HEAD
        self._request: Request | None = None
        self._method = ""  # of the request being answered
        self._keep_alive = True
        self._http10 = False
        self._remaining = 0  # body bytes still to come (_BODY, _CHUNK_DATA, _DISCARD)
        self._chunks: list[bytes] = []
        self._chunked_size = 0
        self._busy = False  # a request is with the application
        self._processing = False
        self._paused = False
        self._closing = False  # answer what is in flight, then close
        self.transport: asyncio.Transport | None = None
        self.last_active = 0.0

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport: create_server makes them
        self._connections.add(self)
        self.last_active = asyncio.get_running_loop().time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        self._state = _DONE

    def data_received(self, data: bytes) -> None:
        self.last_active = asyncio.get_running_loop().time()
        if self._state == _DISCARD:
            data = self._discard(data)
            if not data:
                return
        self._buffer += data
        if self._busy:
            if len(self._buffer) > BUFFER_PAUSE_BYTES and not self._paused and self.transport is not None:
                self._paused = True
                self.transport.pause_reading()
            return
        self._process()

    # called by the worker

    @property
    def idle(self) -> bool:
        return not self._busy and self._state == _HEAD and not self._buffer

    def shut_down(self) -> None:
        """Graceful stop: close now when idle, else after answering the request in flight."""
        self._closing = True
        if self.idle and self.transport is not None:
            self.transport.close()

    # parsing

    def _process(self) -> None:
        self._processing = True
        try:
            while not self._busy and self._state not in (_DONE, _DISCARD):
                try:
                    if not self._step():
                        return
                except ProtocolError as error:
                    self._keep_alive = False
                    self._send(error.status, error_body(str(error)), [])
                    return
        finally:
            self._processing = False

    def _step(self) -> bool:
        """Advances the parser; False when it needs more data."""
        state, buffer = self._state, self._buffer
        if state == _HEAD:
            end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ProtocolError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "The request head is over 64 KB")
                return False
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            self._start_request(head.lstrip(b"\r\n"))
            return True
        if state == _BODY:
            if len(buffer) < self._remaining:
                return False
            body = bytes(buffer[: self._remaining])
            del buffer[: self._remaining]
            self._dispatch(body)
            return True
        if state == _CHUNK_SIZE:
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > 1024:
                    raise ProtocolError(HTTPStatus.BAD_REQUEST, "Invalid chunked encoding: chunk size line too long")
                return False
            text = bytes(buffer[:end]).split(b";", 1)[0].strip()
            del buffer[: end + 2]
            try:
                size = int(text, 16)
            except ValueError:
                raise ProtocolError(HTTPStatus.BAD_REQUEST, "Invalid chunked encoding: bad chunk size") from None
            if size < 0:
                raise ProtocolError(HTTPStatus.BAD_REQUEST, "Invalid chunked encoding: bad chunk size")
            self._chunked_size += size
            if self._chunked_size > self._limits.max_body:
                self._reject_too_large(self._chunked_size, known_length=False)
                return True
            self._state, self._remaining = (_TRAILERS, 0) if size == 0 else (_CHUNK_DATA, size)
            return True
        if state == _CHUNK_DATA:
            if len(buffer) < self._remaining + 2:
                return False
            if buffer[self._remaining : self._remaining + 2] != b"\r\n":
                raise ProtocolError(HTTPStatus.BAD_REQUEST, "Invalid chunked encoding: chunk not followed by CRLF")
            self._chunks.append(bytes(buffer[: self._remaining]))
            del buffer[: self._remaining + 2]
            self._state = _CHUNK_SIZE
            return True
        if state == _TRAILERS:
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ProtocolError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "The trailers are over 64 KB")
                return False
            del buffer[: end + 2]
            if end == 0:  # the empty line after the trailers (usually there are none)
                body, self._chunks = b"".join(self._chunks), []
                self._dispatch(body)
            return True
        return False

    def _start_request(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[1]:
            raise ProtocolError(HTTPStatus.BAD_REQUEST, "Malformed request line")
        method_b, target, version = parts
        if version == b"HTTP/1.1":
            self._http10 = False
        elif version == b"HTTP/1.0":
            self._http10 = True
        else:
            raise ProtocolError(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "Only HTTP/1.0 and HTTP/1.1 are supported")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise ProtocolError(HTTPStatus.BAD_REQUEST, "Malformed header line")
            headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
        try:
            method = method_b.decode("ascii")
            path = target.split(b"?", 1)[0].decode("ascii")
        except UnicodeDecodeError:
            raise ProtocolError(HTTPStatus.BAD_REQUEST, "Malformed request line") from None
        connection = headers.get("connection", "").lower()
        self._keep_alive = "keep-alive" in connection if self._http10 else "close" not in connection
        self._request = Request(method, path, headers, b"")

        encoding = headers.get("transfer-encoding")
        length_text = headers.get("content-length")
        if encoding is not None:
            if length_text is not None:
                raise ProtocolError(HTTPStatus.BAD_REQUEST, "A request may not have both Content-Length and chunking")
            if encoding.lower() != "chunked":
                raise ProtocolError(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported Transfer-Encoding: {encoding}")
            self._continue(headers)
            self._state, self._chunked_size, self._chunks = _CHUNK_SIZE, 0, []
            return
        if length_text is None:
            length = 0
        elif length_text.isdigit() and length_text.isascii():
            length = int(length_text)
        else:
            raise ProtocolError(HTTPStatus.BAD_REQUEST, f"Invalid Content-Length: {length_text}")
        if length > self._limits.max_body:
            self._reject_too_large(length, known_length=True)
            return
        if length:
            self._continue(headers)
        self._state, self._remaining = _BODY, length

    def _continue(self, headers: dict[str, str]) -> None:
        if headers.get("expect", "").lower() == "100-continue" and self.transport is not None:
            self.transport.write(_CONTINUE)

    def _reject_too_large(self, size: int, *, known_length: bool) -> None:
        """413 now; the body (up to the drain limit) is read and dropped so the client gets to read it."""
        message = too_large_message(size, self._limits.max_body)
        drain_limit = self._limits.drain
        if known_length and size <= drain_limit:
            self._remaining = size  # keep the connection: the body's end is known
        else:
            self._keep_alive = False
            self._remaining = drain_limit
        self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, error_body(message), [], after=_DISCARD)
        rest = self._discard(bytes(self._buffer))
        self._buffer.clear()
        self._buffer += rest

    def _discard(self, data: bytes) -> bytes:
        """Drops body bytes of a rejected request; returns what follows it (the next request)."""
        if len(data) < self._remaining:
            self._remaining -= len(data)
            return b""
        rest = data[self._remaining :]
        self._remaining = 0
        if not self._keep_alive or self._closing:
            self._close()
            return b""
        self._state = _HEAD
        return rest

    # answering

    def _dispatch(self, body: bytes) -> None:
        request = self._request
        assert request is not None
        request.body = body
        self._request = None
        self._method = request.method
        self._busy = True
        try:
            self._handler(request, self._respond)
        except Exception:
            log.exception("Unexpected error handling %s %s", request.method, request.path)
            self._respond(HTTPStatus.INTERNAL_SERVER_ERROR, error_body("Internal server error"), [])

    def _respond(self, status: HTTPStatus, body: bytes, headers: list[tuple[str, str]]) -> None:
        if not self._busy:
            return
        self._busy = False
        self._send(status, body, headers)
        if self._paused and self.transport is not None and self._state != _DONE:
            self._paused = False
            self.transport.resume_reading()
        if not self._processing and self._buffer and self._state == _HEAD:
            self._process()

    def _send(self, status: HTTPStatus, body: bytes, headers: list[tuple[str, str]], after: int = _HEAD) -> None:
        transport = self.transport
        if transport is None or self._state == _DONE:
            return
        keep = self._keep_alive and not self._closing
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
        if not keep:
            extra += "Connection: close\r\n"
        elif self._http10:
            extra += "Connection: keep-alive\r\n"
        head = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        transport.write(_STATUS_LINES[status] + head + (b"" if self._method == "HEAD" else body))
        self._method = ""
        self._state = after
        if not keep and after != _DISCARD:
            self._close()

    def _close(self) -> None:
        self._state = _DONE
        if self.transport is not None:
            self.transport.close()
