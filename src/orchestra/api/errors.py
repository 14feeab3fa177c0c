"""The JSON error envelope and the one place exceptions become HTTP answers.

Every error leaves the API as ``{"error": {"code", "message", "details"}}``
with a stable ``code`` (docs/api.md lists them). Errors from the layers below
(engine, definitions, runtime) are mapped here, once, by type; routes just let
them propagate. An unexpected exception answers ``internal`` without its text
(which may hold secrets) and is logged with its traceback.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestra.definitions import Code, DefinitionError
from orchestra.engine.errors import ApprovalError, RunNotFound, WorkflowInputError
from orchestra.runtime.errors import Conflict, InvalidRequest, NotFound, ShuttingDown

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer: HTTP ``status``, stable ``code``, a message saying what to do next."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def rate_limited(retry_after_s: float) -> ApiError:
    seconds = max(1, math.ceil(retry_after_s))
    return ApiError(
        429,
        "rate_limited",
        f"too many requests for this key; retry in {seconds}s or raise server.rate_limit",
        {"retry_after_s": seconds},
        headers={"Retry-After": str(seconds)},
    )


def payload_too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"request body is larger than {limit} bytes; send less or raise server.max_body_bytes",
        {"limit_bytes": limit},
    )


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        envelope(error.code, error.message, error.details),
        status_code=error.status,
        headers=error.headers,
    )


def translate(exc: Exception) -> ApiError | None:
    """The answer for an error of a lower layer, or None if it is unexpected."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RunNotFound | NotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, DefinitionError):
        diagnostics = [d.to_dict() for d in exc.diagnostics]
        status = 404 if any(d.code is Code.UNKNOWN_WORKFLOW for d in exc.diagnostics) else 422
        code = "not_found" if status == 404 else "validation_error"
        return ApiError(status, code, str(exc), {"diagnostics": diagnostics})
    if isinstance(exc, WorkflowInputError | InvalidRequest):
        return ApiError(422, "validation_error", str(exc), {"fields": []})
    if isinstance(exc, ApprovalError | Conflict):
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, ShuttingDown):
        return ApiError(503, "unavailable", str(exc), headers={"Retry-After": "5"})
    return None


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    fields = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    return {"fields": fields}


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    mapped = translate(exc)
    if mapped is None:
        log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        mapped = ApiError(500, "internal", "internal server error; see the server log")
    return error_response(mapped)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        ApiError(
            422,
            "validation_error",
            "the request does not match the schema; see details.fields and /docs",
            _validation_details(exc),
        )
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "bad_request")
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"no such endpoint {request.url.path}; see /docs for the API"
    return JSONResponse(
        envelope(code, message), status_code=exc.status_code, headers=exc.headers or None
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    for kind in (
        ApiError,
        RunNotFound,
        NotFound,
        DefinitionError,
        WorkflowInputError,
        InvalidRequest,
        ApprovalError,
        Conflict,
        ShuttingDown,
        Exception,
    ):
        app.add_exception_handler(kind, _on_api_error)
