"""Message bodies on the wire and in storage: compact JSON, gzip above a size.

A body is JSON-encoded once; when that is larger than
``[messaging] compress_above_bytes`` it is gzip-compressed (level 6). The size
limit (``max_body_bytes``) applies to what is stored, after compression, so a
large but repetitive body still fits. Both backends store these bytes as they are.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from pydantic import JsonValue

from orchestra.messaging.errors import InvalidMessage, MessageTooLarge


def encode_body(body: JsonValue, *, compress_above: int, limit: int) -> tuple[bytes, bool]:
    """(stored bytes, compressed?) for ``body``; raises :class:`MessageTooLarge`."""
    try:
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidMessage(f"body is not JSON: {exc}") from exc
    compressed = False
    if len(raw) > compress_above:
        packed = gzip.compress(raw, compresslevel=6, mtime=0)
        if len(packed) < len(raw):
            raw, compressed = packed, True
    if len(raw) > limit:
        raise MessageTooLarge(len(raw), limit)
    return raw, compressed


def decode_body(data: bytes, compressed: bool) -> Any:
    """The JSON value stored as ``data`` by :func:`encode_body`."""
    if compressed:
        data = gzip.decompress(data)
    return json.loads(data)
