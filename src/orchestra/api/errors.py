"""The JSON error envelope and the one place exceptions become HTTP answers.

Every error leaves the API as ``{"error": {"code", "message", "details"}}``
with a stable ``code`` (docs/api.md lists them). Errors from the layers below
are mapped here, once: by family (``orchestra.errors``) for every
``OrchestraError`` — so a new error class gets the right status without an edit
here — and by type for the few older trees that are not in a family yet
(definitions, runtime services). Routes just let errors propagate. An
unexpected exception answers ``internal`` without its text (which may hold
secrets) and is logged with its traceback.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestra.api.methods import allow_header, allowed_methods
from orchestra.api.views import shown_path
from orchestra.definitions import Code, DefinitionError
from orchestra.definitions.diagnostics import format_diagnostics
from orchestra.errors import (
    ConflictMistake,
    ControlSignal,
    NotFoundMistake,
    OrchestraError,
    RuntimeFailure,
    UserMistake,
)

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


RETRY_AFTER_S = 5
"""What a retryable failure tells the client to wait when the error names no delay."""


def unavailable(message: str, retry_after_s: float = RETRY_AFTER_S) -> ApiError:
    seconds = max(1, math.ceil(retry_after_s))
    return ApiError(
        503, "unavailable", message, {"retry_after_s": seconds}, {"Retry-After": str(seconds)}
    )


def translate(exc: Exception, root: Path | None = None) -> ApiError | None:
    """The answer for an error of a lower layer, or None if it is unexpected.

    ``root`` is the project folder: file paths in the answer are shown relative to it,
    so callers never learn the server's absolute layout.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DefinitionError):
        base = root or Path.cwd()
        diagnostics = [{**d.to_dict(), "path": shown_path(d.path, base)} for d in exc.diagnostics]
        status = 404 if any(d.code is Code.UNKNOWN_WORKFLOW for d in exc.diagnostics) else 422
        code = "not_found" if status == 404 else "validation_error"
        message = format_diagnostics(exc.diagnostics, base)
        return ApiError(status, code, message, {"diagnostics": diagnostics})
    if isinstance(exc, OrchestraError):
        return _by_family(exc)
    return None


def _by_family(exc: OrchestraError) -> ApiError:
    """The answer for ``exc`` by its family; ``details.error`` keeps the class's own code."""
    details: dict[str, Any] = {"error": exc.code}
    if isinstance(exc, NotFoundMistake):
        return ApiError(404, "not_found", str(exc), details)
    if isinstance(exc, ConflictMistake | ControlSignal):
        # A control signal reaching a caller means the state moved under it (a run
        # another process drives, a lease taken over): the same answer as a conflict.
        return ApiError(409, "conflict", str(exc), details)
    if isinstance(exc, UserMistake):
        return ApiError(422, "validation_error", str(exc), {**details, "fields": []})
    if isinstance(exc, RuntimeFailure) and exc.retryable:
        wait = getattr(exc, "retry_after", None)
        mapped = unavailable(str(exc), wait if isinstance(wait, int | float) else RETRY_AFTER_S)
        mapped.details.update(details)
        return mapped
    log.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
    return ApiError(500, "failed", str(exc), details)


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
    container = getattr(request.app.state.api, "container", None)
    mapped = translate(exc, container.project.root if container is not None else None)
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
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status in (404, 405):
        # The web UI at ``/`` matches every path, so ask the API routes themselves.
        allowed = allowed_methods(request.app, request.scope)
        if allowed and request.method not in allowed:
            status = 405
            headers["Allow"] = allow_header(allowed)
    code = _HTTP_CODES.get(status, "internal" if status >= 500 else "bad_request")
    message = str(exc.detail) if status == exc.status_code else "Method Not Allowed"
    if status == 404:
        message = f"no such endpoint {request.url.path}; see /docs for the API"
    elif status == 405:
        message = (
            f"{request.method} is not allowed on {request.url.path}; "
            f"allowed: {headers.get('Allow', 'GET, HEAD')}"
        )
    elif status == 400:
        message = (
            f"{exc.detail}: the body must be JSON in UTF-8, nested at most a few hundred "
            "levels deep"
        )
    return JSONResponse(envelope(code, message), status_code=status, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    # Every known root is registered by name: Starlette answers those without closing the
    # connection; only the bare ``Exception`` (a bug) goes through its server-error path.
    for kind in (
        ApiError,
        OrchestraError,
        DefinitionError,
        Exception,
    ):
        app.add_exception_handler(kind, _on_api_error)
