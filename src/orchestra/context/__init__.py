"""The context store's domain: what an entry is, its limits, and how it is searched.

Context is what earlier jobs learnt (search parameters, page states, user feedback),
kept in Orchestra's own database (``store/context/``) so later prompts and plans can use
it. This package holds the parts that know nothing of SQL: the draft a user or a step
submits (:mod:`orchestra.context.entries`), its errors, and the text an entry is indexed
by (:mod:`orchestra.context.search_text`).
"""

from orchestra.context.entries import (
    ContextDraft,
    ContextEntry,
    ContextFilter,
    ContextPatch,
    Provenance,
    parse_context_data,
)
from orchestra.context.errors import ContextError, ContextInputError, ContextNotFound

__all__ = [
    "ContextDraft",
    "ContextEntry",
    "ContextError",
    "ContextFilter",
    "ContextInputError",
    "ContextNotFound",
    "ContextPatch",
    "Provenance",
    "parse_context_data",
]
