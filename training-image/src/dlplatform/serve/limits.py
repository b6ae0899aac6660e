"""The request limits the model server enforces, read from training-image/request-limits.json.

That file is the project's one table of request limits (the WAF rule, the API model and the proxy derive
theirs from it too). The server keeps two of them: ``endpointMaxBytes`` (SageMaker's 6 MB InvokeEndpoint
limit) caps every body, and ``maxRows`` per content type caps the rows of one request.

The file sits next to ``src/`` in the image (/opt/program/request-limits.json) and in the repository;
``DLPLATFORM_REQUEST_LIMITS`` points at another copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..paths import PROGRAM_DIR

LIMITS_ENV = "DLPLATFORM_REQUEST_LIMITS"
DEFAULT_LIMITS_FILE = PROGRAM_DIR / "request-limits.json"


class LimitsError(Exception):
    """request-limits.json is missing or does not have the expected shape."""


@dataclass(frozen=True)
class RequestLimits:
    endpoint_max_bytes: int
    max_rows: Mapping[str, int]  # media type -> most rows in one request

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RequestLimits:
        try:
            endpoint_max_bytes = data["endpointMaxBytes"]
            types = data["contentTypes"]
            if not isinstance(types, dict):
                raise TypeError("contentTypes must be an object")
            max_rows = {str(kind): spec["maxRows"] for kind, spec in types.items()}
        except (KeyError, TypeError) as error:
            raise LimitsError(f"request limits need endpointMaxBytes and contentTypes.*.maxRows: {error}") from None
        for name, value in [("endpointMaxBytes", endpoint_max_bytes), *max_rows.items()]:
            if type(value) is not int or value < 1:
                raise LimitsError(f"request limit {name} must be a positive whole number, got {value!r}")
        return cls(endpoint_max_bytes, max_rows)  # type: ignore[arg-type]

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None) -> RequestLimits:
        env = os.environ if env is None else env
        path = Path(env.get(LIMITS_ENV) or DEFAULT_LIMITS_FILE)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise LimitsError(f"Cannot read the request limits from {path}: {error}") from None
        if not isinstance(data, dict):
            raise LimitsError(f"{path} must hold a JSON object")
        return cls.from_dict(data)

    @property
    def supported_types(self) -> tuple[str, ...]:
        return tuple(self.max_rows)
