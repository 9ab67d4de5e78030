"""422 answers that can always be written, whatever the client sent."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped, so text that is not valid Unicode still serialises.

    Validation errors echo the input, and JSON like `"\\ud800"` decodes to a lone surrogate
    that UTF-8 cannot encode; FastAPI's own handler would fail with a 500 there.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return AsciiJSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)
