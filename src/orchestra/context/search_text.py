"""The text an entry is found by, and a user's query made safe for the full-text engines.

Both engines index one text column built here from the entry (job type, job id, tags and
every string, number and key in its JSON data), so SQLite FTS5 and PostgreSQL full-text
see the same words. A query is reduced to its words (letters and digits): FTS5 and
``tsquery`` syntax characters in user input can then never be an error or an
injection, and both engines require every word (AND), ranked by relevance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 16


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def entry_text(job_id: str, job_type: str, tags: Sequence[str], data: Any) -> str:
    """Everything searchable about an entry, as one string of words."""
    return " ".join([job_type, job_id, *tags, *_leaves(data)])


def query_words(query: str) -> list[str]:
    """The words of ``query`` (at most :data:`MAX_QUERY_WORDS`), lower-cased."""
    return [word.lower() for word in _WORD.findall(query)][:MAX_QUERY_WORDS]


def fts5_match(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression requiring every word (each quoted, so never syntax)."""
    return " ".join(f'"{word}"' for word in words)


def tsquery(words: Sequence[str]) -> str:
    """Text for ``plainto_tsquery`` (every word required; it has no syntax to break)."""
    return " ".join(words)
