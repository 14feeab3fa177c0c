"""Errors of the GitHub integration (git in the workspace, the GitHub API).

Tree::

    ToolUserError
    └── RemoteNotAllowedError   a remote URL outside [plugins.github] hosts / local_remotes
    ToolRuntimeError
    ├── GitError                a git command failed (its exit code and stderr)
    └── GithubApiError          the GitHub API answered with an error (status, message)
"""

from __future__ import annotations

from orchestra.tools.errors import ToolRuntimeError, ToolUserError


class RemoteNotAllowedError(ToolUserError):
    """A clone or push target the project did not allow."""


class GitError(ToolRuntimeError):
    """git exited non-zero or ran out of time."""


class GithubApiError(ToolRuntimeError):
    """An error answer from the GitHub REST API; 5xx and rate limits are retryable."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None):
        super().__init__(message, retryable=retryable)
        self.status = status


__all__ = ["GitError", "GithubApiError", "RemoteNotAllowedError"]
