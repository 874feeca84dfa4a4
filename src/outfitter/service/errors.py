"""Every error the API returns is `{"detail": "one line"}`: bad input 422, validation 422, and HTTP errors as raised."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from outfitter.errors import InputError


def explain(errors: Iterable[Mapping[str, Any]]) -> str:
    """Pydantic's error list as one line: `where: what; where: what`."""
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts) or "invalid request"


async def _input_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": explain(exc.errors())}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Map outfitter's InputError (ImageError included) and FastAPI's validation errors to one-line 422s."""
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
