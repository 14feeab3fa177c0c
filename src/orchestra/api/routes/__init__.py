"""API v1 routes, one module per resource. Each route parses, calls a service, renders."""

from __future__ import annotations

from typing import Any

from orchestra.api.schemas import ErrorEnvelope

_ERROR = {"model": ErrorEnvelope}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        **_ERROR,
        "description": "The body is not UTF-8 JSON, or is nested too deeply (`bad_request`).",
    },
    401: {**_ERROR, "description": "No key, or an unknown or revoked key (`unauthorized`)."},
    403: {**_ERROR, "description": "The key's role does not allow this (`forbidden`)."},
    404: {**_ERROR, "description": "No such thing (`not_found`)."},
    409: {**_ERROR, "description": "Not possible in the current state (`conflict`)."},
    413: {**_ERROR, "description": "Request body too large (`payload_too_large`)."},
    422: {**_ERROR, "description": "Invalid request (`validation_error`); see details."},
    429: {
        **_ERROR,
        "description": "Rate limit of this key reached (`rate_limited`).",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    500: {
        **_ERROR,
        "description": "A failure that retrying will not fix (`failed`, with its message), "
        "or a server bug (`internal`); see the server log.",
    },
    503: {
        **_ERROR,
        "description": "Starting or shutting down, or a failure that may pass, such as the "
        "database unavailable, read-only or full (`unavailable`); retry after `Retry-After`.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
"""Error answers every authenticated route may give, for the OpenAPI description."""
