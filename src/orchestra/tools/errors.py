"""Errors raised inside the tools package.

Tree::

    ToolError                       base; never escapes the registry into the agent loop
    ├── ToolUserError               the caller (model or user) asked for something wrong; fix the call
    │   ├── ToolNotFoundError       no tool of that name is registered
    │   ├── ToolNotAllowedError     the tool exists but this agent may not call it
    │   ├── ToolArgumentsError      arguments are not JSON or fail the tool's schema
    │   ├── WorkspacePathError      a path leaves the workspace (``..``, absolute, symlink out)
    │   ├── CommandNotAllowedError  a shell program or argument the allowlist refuses
    │   ├── BlockedAddressError     an http.fetch target resolves to a forbidden address
    │   ├── PackageNotAllowedError  a package outside ``python_packages_allowlist``
    │   ├── MissingSecretError      a secret a tool needs is not set (names the variable to set)
    │   └── PluginSettingsError     a ``[plugins.<name>]`` table does not fit the plugin's model
    ├── ToolRuntimeError            the tool ran and failed; ``retryable`` says whether to try again
    │   ├── ToolTimeoutError        a wall-clock limit was reached (retryable)
    │   ├── FetchError              the HTTP request failed or the response was too large
    │   ├── SearchError             the search backend failed (retryable)
    │   └── McpServerError          an MCP server could not start, died, or answered with an error
    └── ToolDefinitionError         a tool (built-in, plugin or MCP) is malformed or its name clashes

The registry turns every ``ToolError`` (and any other exception a tool raises)
into an error :class:`~orchestra.tools.protocol.ToolResult`, so the model sees
what went wrong and can correct itself; only ``ToolDefinitionError`` surfaces at
registration time, because it is a programming or configuration mistake.
"""

from __future__ import annotations

from typing import ClassVar

from orchestra.errors import OrchestraError, RuntimeFailure, UserMistake


class ToolError(OrchestraError):
    """Base of every error in :mod:`orchestra.tools`."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class ToolUserError(ToolError, UserMistake):
    """The call itself is wrong; retrying it unchanged gives the same answer."""

    code: ClassVar[str] = "tool_refused"


class ToolNotFoundError(ToolUserError):
    """No tool with that name is registered."""


class ToolNotAllowedError(ToolUserError):
    """The agent's tool list does not include this tool."""


class ToolArgumentsError(ToolUserError):
    """The arguments are not valid JSON or do not match the tool's schema."""


class WorkspacePathError(ToolUserError):
    """A path would leave the workspace or crosses a symlink."""


class CommandNotAllowedError(ToolUserError):
    """The shell allowlist or a per-command argument rule refuses the command."""


class BlockedAddressError(ToolUserError):
    """An HTTP target resolves to an address the network policy forbids."""


class PackageNotAllowedError(ToolUserError):
    """A package to install is not in ``python_packages_allowlist``."""


class MissingSecretError(ToolUserError):
    """A secret a tool needs is not set; the message names the variable to set."""


class PluginSettingsError(ToolUserError):
    """A plugin's ``[plugins.<name>]`` table in orchestra.toml does not fit its settings model."""


class ToolRuntimeError(ToolError, RuntimeFailure):
    """The tool ran and failed."""

    code: ClassVar[str] = "tool_failed"


class ToolTimeoutError(ToolRuntimeError):
    """A wall-clock limit was reached."""

    retryable = True


class FetchError(ToolRuntimeError):
    """An HTTP fetch failed (connection, status, size)."""


class SearchError(ToolRuntimeError):
    """The web search backend failed."""

    retryable = True


class McpServerError(ToolRuntimeError):
    """An MCP server could not be started, died, or reported a protocol error."""


class ToolDefinitionError(ToolError, UserMistake):
    """A tool definition is invalid or its name is already taken."""

    code: ClassVar[str] = "invalid_tool"


class SecretStoreError(ToolUserError):
    """The encrypted secret store cannot be opened or read: a wrong or missing key, a
    key file others may read, a damaged store file. The message says which and the fix."""

    code: ClassVar[str] = "secret_store"
