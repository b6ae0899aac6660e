"""The application behind `serve`: SageMaker's /ping and /invocations contract.

Every error is JSON ``{"error": "..."}`` with a 4xx status for anything the client can fix; a 5xx only
means a bug or a broken model, and the worker keeps serving either way. Parsing and validation happen per
request; only valid rows join a batch (batching.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

import numpy as np
import orjson

from .batching import MicroBatcher
from .http_protocol import Request, Respond, error_body
from .limits import RequestLimits
from .payload import BadRequest, encode_predictions, media_type, parse_body
from .predictor import Predictor

log = logging.getLogger(__name__)

Route = Callable[[Request, Respond], None]


class ModelApp:
    """Routes requests to the loaded model. Holds no state besides the predictor and its batcher."""

    def __init__(
        self, predictor: Predictor, batcher: MicroBatcher, limits: RequestLimits, workers: int, access_log: bool = False
    ) -> None:
        self.predictor = predictor
        self.access_log = access_log
        self.batcher = batcher
        self.limits = limits
        self.workers = workers
        self._ping = orjson.dumps({"status": "healthy", "model_version": predictor.version})
        self._execution_parameters = orjson.dumps(
            # Batch transform asks this once; it tells SageMaker how to batch requests for this container.
            {
                "MaxConcurrentTransforms": workers,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": limits.endpoint_max_bytes // 2**20,
            }
        )
        self.routes: dict[str, dict[str, Route]] = {
            "/ping": {"GET": self.ping, "HEAD": self.ping},
            "/invocations": {"POST": self.invocations},
            "/execution-parameters": {"GET": self.execution_parameters},
        }

    def __call__(self, request: Request, respond: Respond) -> None:
        if self.access_log:
            respond = _logged(request, respond)
        methods = self.routes.get(request.path)
        if methods is None:
            _error(respond, HTTPStatus.NOT_FOUND, f"No such path: {request.path}; use POST /invocations or GET /ping")
            return
        route = methods.get(request.method)
        if route is None:
            allowed = ", ".join(methods)
            message = f"{request.path} accepts {allowed} only"
            _error(respond, HTTPStatus.METHOD_NOT_ALLOWED, message, [("Allow", allowed)])
            return
        route(request, respond)

    def ping(self, _request: Request, respond: Respond) -> None:
        respond(HTTPStatus.OK, self._ping, [])

    def execution_parameters(self, _request: Request, respond: Respond) -> None:
        respond(HTTPStatus.OK, self._execution_parameters, [])

    def invocations(self, request: Request, respond: Respond) -> None:
        content_type = request.headers.get("content-type")
        kind = media_type(content_type)
        max_rows = self.limits.max_rows.get(kind)
        if max_rows is None:
            supported = " or ".join(self.limits.supported_types)
            message = f"Unsupported Content-Type {content_type or '(none)'}; use {supported}"
            _error(respond, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, message)
            return
        predictor = self.predictor
        try:
            rows = parse_body(
                request.body, kind, predictor.input_width, predictor.feature_names, max_rows,
                allow_missing=predictor.imputes, schema=predictor.schema,
            )  # fmt: skip
        except BadRequest as error:
            _error(respond, error.status, str(error))
            return
        try:
            model_rows = predictor.transform(rows)
        except ValueError as error:  # the fitted preprocessing refuses a row
            _error(respond, HTTPStatus.BAD_REQUEST, str(error))
            return

        def deliver(result: np.ndarray | BaseException) -> None:
            if isinstance(result, BaseException):
                log.error("The model failed on a request of %d rows", len(rows), exc_info=result)
                respond(HTTPStatus.INTERNAL_SERVER_ERROR, error_body("The model failed on this request"), [])
                return
            respond(HTTPStatus.OK, encode_predictions(result, predictor.labels, predictor.version), [])

        self.batcher.submit(model_rows, deliver)


def _logged(request: Request, respond: Respond) -> Respond:
    def respond_and_log(status: HTTPStatus, body: bytes, headers: list[tuple[str, str]]) -> None:
        respond(status, body, headers)
        print(f"{request.method} {request.path} {status.value} {len(body)}", flush=True)

    return respond_and_log


def _error(respond: Respond, status: HTTPStatus, message: str, headers: list[tuple[str, str]] | None = None) -> None:
    log.info("-> %d: %s", status.value, message)
    respond(status, error_body(message), headers or [])
