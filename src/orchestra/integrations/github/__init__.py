"""GitHub: ``git.*`` in the workspace through the git CLI, and the ``github.*`` API tools.

:func:`register` is the ``orchestra.tools`` entry point; githubkit is imported only
when an API tool runs.
"""

from __future__ import annotations

from orchestra.integrations.github import api_tools, git_tools
from orchestra.tools.registry import ToolRegistry


def register(registry: ToolRegistry) -> None:
    """Add ``git.clone|branch|commit|push|diff`` and ``github.issue.*`` / ``github.pr.*``."""
    for t in (*git_tools.TOOLS, *api_tools.TOOLS):
        registry.register(t)


__all__ = ["register"]
