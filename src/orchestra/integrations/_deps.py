"""A clear error when an integration's optional library is not installed."""

from __future__ import annotations

from orchestra.tools.errors import ToolRuntimeError


def missing_extra(library: str, exc: ImportError) -> ToolRuntimeError:
    """The error a tool raises when ``library`` (from the ``integrations`` extra) is absent."""
    return ToolRuntimeError(
        f"{library} is not installed ({exc}); install Orchestra with the integrations "
        "extra: pip install 'orchestra[integrations]' (or uv sync --extra integrations)"
    )
