"""The WSGI application behind `serve`: SageMaker's /ping and /invocations contract.

Every error is JSON ``{"error": "..."}`` with a 4xx status for anything the client can fix; a 5xx only
means a bug or a broken model, and the worker keeps serving either way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from .payload import SUPPORTED_TYPES, BadRequest, encode_predictions, media_type, parse_body
from .predictor import Predictor

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker real-time endpoints' InvokeEndpoint limit
DRAIN_LIMIT_BYTES = 8 * MAX_PAYLOAD_BYTES  # larger bodies are not read at all; the connection is closed
READ_CHUNK = 256 * 1024

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.headers = list(headers)


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def read_body(environ: Environ) -> bytes:
    """The request body, at most 6 MB; larger ones are drained (so the client can read the answer) and 413."""
    stream = environ["wsgi.input"]
    length_text = (environ.get("CONTENT_LENGTH") or "").strip()
    if length_text:
        if not length_text.isdigit():
            raise HttpError(HTTPStatus.BAD_REQUEST, f"Invalid Content-Length: {length_text}")
        length = int(length_text)
        if length > MAX_PAYLOAD_BYTES:
            if length <= DRAIN_LIMIT_BYTES:
                while stream.read(READ_CHUNK):
                    pass
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(length))
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            while size <= DRAIN_LIMIT_BYTES and (chunk := stream.read(READ_CHUNK)):
                size += len(chunk)
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(size))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int) -> str:
    return f"The payload ({size} bytes) is over the limit of {MAX_PAYLOAD_BYTES} bytes (6 MB); send smaller batches"


class ModelApp:
    """Routes requests to the loaded model. Holds no state besides the predictor."""

    def __init__(self, predictor: Predictor, workers: int = 1) -> None:
        self.predictor = predictor
        self.workers = workers
        self.routes: dict[str, dict[str, Callable[[Environ], bytes]]] = {
            "/ping": {"GET": self.ping, "HEAD": self.ping},
            "/invocations": {"POST": self.invocations},
            "/execution-parameters": {"GET": self.execution_parameters},
        }

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        headers: list[tuple[str, str]] = []
        try:
            status, body = HTTPStatus.OK, self._dispatch(environ)
        except HttpError as error:
            status, body, headers = error.status, _json({"error": str(error)}), error.headers
            log.info("%s %s -> %d: %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), status, error)
        except Exception:  # answer, log and keep serving
            log.exception("Unexpected error handling %s", environ.get("PATH_INFO"))
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, _json({"error": "Internal server error"})
        start_response(
            f"{status.value} {status.phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
        )
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _dispatch(self, environ: Environ) -> bytes:
        path = environ.get("PATH_INFO") or "/"
        methods = self.routes.get(path)
        if methods is None:
            read_body(environ)
            raise HttpError(HTTPStatus.NOT_FOUND, f"No such path: {path}; use POST /invocations or GET /ping")
        handler = methods.get(environ.get("REQUEST_METHOD", ""))
        if handler is None:
            read_body(environ)
            allowed = ", ".join(methods)
            raise HttpError(
                HTTPStatus.METHOD_NOT_ALLOWED, f"{path} accepts {allowed} only", headers=[("Allow", allowed)]
            )
        return handler(environ)

    def ping(self, _environ: Environ) -> bytes:
        return _json({"status": "healthy", "model_version": self.predictor.version})

    def execution_parameters(self, _environ: Environ) -> bytes:
        """Batch transform asks this once; it tells SageMaker how to batch requests for this container."""
        return _json({"MaxConcurrentTransforms": self.workers, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6})

    def invocations(self, environ: Environ) -> bytes:
        body = read_body(environ)
        content_type = environ.get("CONTENT_TYPE")
        if media_type(content_type) not in SUPPORTED_TYPES:
            raise HttpError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Unsupported Content-Type {content_type or '(none)'}; use {' or '.join(SUPPORTED_TYPES)}",
            )
        predictor = self.predictor
        try:
            rows = parse_body(body, content_type, predictor.input_width, predictor.feature_names)
        except BadRequest as error:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(error)) from None
        probabilities = predictor.predict_proba(rows)
        return encode_predictions(probabilities, predictor.labels, predictor.version)
