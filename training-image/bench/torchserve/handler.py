"""TorchServe 0.12 handler for the serving bench: the image's own model code behind TorchServe's batching.

torchserve_bench.py archives this file with the trained model's folder (model.pt, metadata.json and, when
there is one, preprocessing.json) and starts TorchServe with config.properties.template. Each TorchServe worker
runs the code the model server runs, imported from training-image/src (``DLPLATFORM_SRC``):
- ``Predictor.load``: the same frozen TorchScript graphs built from the same state_dict, warmed up the same way;
- per request ``payload.parse_body`` (orjson, the same checks and row limit) then ``Predictor.transform``;
- one ``Predictor.forward`` over the rows of every request TorchServe batched together (what the model server's
  MicroBatcher does), split back per request;
- ``payload.encode_predictions``: the same response body.

TorchServe's config sets ``decode_input_request=false``, so the body arrives as the bytes the client sent
(TorchServe would otherwise parse JSON with the standard library before the handler sees it). Not part of the
image.
"""

from __future__ import annotations

import logging
import os
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

_SRC = os.environ.get("DLPLATFORM_SRC")
if _SRC and _SRC not in sys.path:
    sys.path.insert(0, _SRC)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dlplatform.serve.batching import BatchSettings  # noqa: E402
from dlplatform.serve.http_connection import error_body  # noqa: E402
from dlplatform.serve.limits import RequestLimits  # noqa: E402
from dlplatform.serve.payload import BadRequest, encode_predictions, media_type, parse_body  # noqa: E402
from dlplatform.serve.predictor import Predictor  # noqa: E402


class DigitsHandler:
    """TorchServe's custom-service contract: ``initialize(context)`` once, ``handle(batch, context)`` per batch."""

    def __init__(self) -> None:
        self.predictor: Predictor | None = None
        self.max_rows: dict[str, int] = {}

    def initialize(self, context: Any) -> None:
        torch.set_num_threads(1)  # as the model server's workers: one core each
        # TorchServe's worker logs every batch's PredictionTime metric at INFO on stdout, which the Java frontend
        # reads and logs again; the model server logs nothing per request. Warnings and errors still show.
        logging.getLogger().setLevel(logging.WARNING)
        self.predictor = Predictor.load(Path(context.system_properties["model_dir"]))
        self.predictor.warm_up(BatchSettings.max_rows)  # as the model server's worker does at start
        self.max_rows = dict(RequestLimits.load().max_rows)

    def handle(self, batch: list[dict[str, Any]], context: Any) -> list[bytes]:
        predictor = self.predictor
        assert predictor is not None, "TorchServe calls initialize first"
        answers: list[bytes] = [b""] * len(batch)
        parsed: list[tuple[int, np.ndarray]] = []
        for index, request in enumerate(batch):
            context.set_response_content_type(index, "application/json")
            body = request.get("body") or request.get("data") or b""
            kind = media_type(context.get_request_header(index, "Content-Type"))
            try:
                max_rows = self.max_rows.get(kind)
                if max_rows is None:
                    raise BadRequest(f"Unsupported Content-Type {kind}", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
                rows = parse_body(
                    bytes(body), kind, predictor.input_width, predictor.feature_names, max_rows,
                    allow_missing=predictor.imputes, schema=predictor.schema,
                )  # fmt: skip
                parsed.append((index, predictor.transform(rows)))
            except (BadRequest, ValueError) as error:
                status = error.status if isinstance(error, BadRequest) else HTTPStatus.BAD_REQUEST
                context.set_response_status(status.value, status.phrase, index)
                answers[index] = error_body(str(error))
        if parsed:
            probabilities = predictor.forward(np.concatenate([rows for _, rows in parsed]))
            start = 0
            for index, rows in parsed:
                result = probabilities[start : start + len(rows)]
                start += len(rows)
                answers[index] = encode_predictions(result, predictor.labels, predictor.version)
        return answers
