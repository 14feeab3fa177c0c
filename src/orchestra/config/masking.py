"""Recognising and hiding secrets in settings, messages and log records.

A value is secret when its key looks like one (``api_key``, ``password``,
``token``, ``secret`` ...) or when it is the password part of a URL
(``postgresql://user:PASSWORD@host/db``). LiteLLM's ``os.environ/NAME``
references are not secrets (they name a variable), so they stay visible.

Stdlib only: the logging setup imports this, and it must stay cheap to import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "***"

_SECRET_KEY = re.compile(
    r"(api[_-]?key|apikey|password|passwd|passphrase|secret|token|credential|private[_-]?key)",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)(?=@)")
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # OpenAI/Anthropic-style keys: sk-..., sk-ant-..., sk-proj-...
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-" + MASK),
    (re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]{4,}", re.IGNORECASE), r"\1 " + MASK),
    (_URL_PASSWORD, r"\g<head>" + MASK),
    # key=value / "key": "value" pairs whose key looks secret
    (
        re.compile(
            r"""(?P<k>["']?[\w\-]*(?:api[_-]?key|password|passwd|secret|token)["']?\s*[=:]\s*["']?)"""
            r"""(?P<v>[^\s"',;}&]{3,})""",
            re.IGNORECASE,
        ),
        r"\g<k>" + MASK,
    ),
)
_ENV_REFERENCE = "os.environ/"
_MIN_SECRET_LENGTH = 4


def is_secret_key(key: str) -> bool:
    """True when a setting or mapping key named ``key`` holds a secret."""
    return _SECRET_KEY.search(key) is not None


def mask_url(url: str) -> str:
    """``url`` with the password of its user-info part replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\g<head>" + MASK, url)


def mask_value(key: str, value: object) -> object:
    """``value`` as it may be shown to a user: secret keys masked, URL passwords
    masked, recursing into mappings and lists (their own keys are checked too)."""
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, item) for item in value]
    if isinstance(value, str):
        if is_secret_key(key) and value and not value.startswith(_ENV_REFERENCE):
            return MASK
        return mask_url(value)
    if is_secret_key(key) and value is not None and not isinstance(value, bool):
        return MASK
    return value


def collect_secrets(data: Mapping[str, object]) -> set[str]:
    """Every secret string in ``data`` (a settings dump): values of secret keys and
    URL passwords, at any depth. The log redaction filter hides these verbatim."""
    found: set[str] = set()

    def walk(key: str, value: object) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(str(k), v)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(key, item)
        elif isinstance(value, str):
            if is_secret_key(key) and not value.startswith(_ENV_REFERENCE):
                found.add(value)
            found.update(match.group("pw") for match in _URL_PASSWORD.finditer(value))

    walk("", data)
    return {secret for secret in found if len(secret) >= _MIN_SECRET_LENGTH}


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known ``secrets`` and secret-looking patterns (``sk-...``,
    ``Bearer ...``, URL passwords, ``api_key=...``) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
