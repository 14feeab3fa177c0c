"""MCP servers as tool sources: a per-run pool of client sessions.

Servers come from project settings (``tools.mcp_servers``) or an agent file
(``AgentSpec.mcp_servers``), each an :class:`~orchestra.definitions.specs.McpServerSpec`
with a stdio ``command`` or a streamable-HTTP ``url``. Contract:

* ``async with McpPool(specs, settings=..., emit=...) as pool:`` starts every
  server, lists its tools, and closes every session (and stdio subprocess) on
  exit — one pool per run, so sessions are reused by every step of the run;
* ``await pool.register_into(registry)`` adds each server tool as
  ``<server>.<tool>`` with the server's JSON schema, source ``mcp:<server>``;
* a call whose connection fails (the server died) emits an event, restarts the
  server **once** for the run, and retries the call; a second failure is an
  error result. A tool error reported by the server (``isError``) is an error
  result too. Nothing raises into the agent loop.

Each connection lives in its own owner task because the SDK's anyio contexts
must be exited by the task that entered them; restarting from inside a tool
call therefore never crosses task boundaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CONNECTION_CLOSED, CallToolResult, TextContent
from mcp_types import Tool as McpTool

from orchestra.definitions.specs import McpServerSpec
from orchestra.tools.balancing import Balancer
from orchestra.tools.errors import McpServerError, ToolDefinitionError
from orchestra.tools.protocol import (
    EventCallback,
    Permission,
    Tool,
    ToolContext,
    ToolOutput,
    ToolSettings,
)
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.versions import UNKNOWN_VERSION

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def validate_spec(spec: McpServerSpec) -> None:
    if (spec.command is None) == (spec.url is None):
        raise ToolDefinitionError(
            f"MCP server {spec.name!r} needs exactly one of 'command' (stdio) or 'url' (streamable HTTP)"
        )
    if spec.command is not None and not spec.command:
        raise ToolDefinitionError(f"MCP server {spec.name!r} has an empty command")
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", spec.name):
        raise ToolDefinitionError(
            f"MCP server name {spec.name!r} must be letters, digits, '_' or '-'"
        )
    if spec.url is not None and not spec.endpoints():
        raise ToolDefinitionError(f"MCP server {spec.name!r} has an empty list of URLs")
    try:
        Balancer(spec.endpoints() or ["stdio"], spec.balance, spec.weights)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ToolDefinitionError(f"MCP server {spec.name!r}: {exc}") from exc


def endpoint_specs(spec: McpServerSpec) -> dict[str, McpServerSpec]:
    """One spec per endpoint, keyed by connection: the server's name for a single
    endpoint (stdio or one URL), ``<name>#<i>`` for each of several URLs."""
    urls = spec.endpoints()
    if len(urls) <= 1:
        return {spec.name: spec.model_copy(update={"url": urls[0] if urls else None})}
    return {f"{spec.name}#{i}": spec.model_copy(update={"url": u}) for i, u in enumerate(urls)}


class _Connection:
    """One live session, owned by its own task."""

    def __init__(self, spec: McpServerSpec, timeout_s: float) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self.client: Client | None = None
        self.tools: list[McpTool] = []
        self.version = UNKNOWN_VERSION
        """What the server reported at initialisation; every tool of it carries it."""
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._own(), name=f"mcp-{self.spec.name}")
        await self._ready.wait()
        if self.error is not None:
            raise McpServerError(
                f"MCP server {self.spec.name!r} did not start: {self.error}. {self.stderr_tail()}"
                "Check its command/url in the agent file or tools.mcp_servers.",
                retryable=True,
            ) from self.error

    def _target(self) -> Any:
        if self.spec.url is not None:
            return self.spec.url
        assert self.spec.command is not None
        params = StdioServerParameters(
            command=self.spec.command[0],
            args=list(self.spec.command[1:]),
            env=dict(self.spec.env) or None,
        )
        return stdio_client(params, errlog=self._stderr)

    async def _own(self) -> None:
        try:
            async with Client(
                self._target(), read_timeout_seconds=self.timeout_s, mode="legacy"
            ) as client:
                listed = await client.list_tools()
                self.tools = list(listed.tools)
                info = client.server_info
                self.version = (info.version if info is not None else "") or UNKNOWN_VERSION
                self.client = client
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # boundary: transport and server failures become data
            self.error = exc
        finally:
            self.client = None
            self._ready.set()

    def alive(self) -> bool:
        return self.client is not None and self._task is not None and not self._task.done()

    def stderr_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            tail = self._stderr.read()[-600:].strip()
            if tail:
                return f"Server stderr: {tail}. "
        return ""

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        self._stderr.close()


class McpPool:
    """The MCP sessions of one run; see the module docstring."""

    def __init__(
        self,
        servers: Sequence[McpServerSpec],
        *,
        settings: ToolSettings | None = None,
        emit: EventCallback | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        seen: set[str] = set()
        for spec in servers:
            validate_spec(spec)
            if spec.name in seen:
                raise ToolDefinitionError(
                    f"MCP server {spec.name!r} is listed twice; give each a unique name"
                )
            seen.add(spec.name)
        self.servers = {s.name: s for s in servers}
        self.specs: dict[str, McpServerSpec] = {}
        """Per connection key (see :func:`endpoint_specs`): the spec of one endpoint."""
        self._endpoints: dict[str, Balancer] = {}
        for spec in servers:
            keys = endpoint_specs(spec)
            self.specs.update(keys)
            self._endpoints[spec.name] = Balancer(list(keys), spec.balance, spec.weights)  # type: ignore[arg-type]
        self.settings = settings or ToolSettings()
        self._emit = emit
        self._timeout_s = timeout_s
        self._conns: dict[str, _Connection] = {}
        self._restarts: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {key: asyncio.Lock() for key in self.specs}
        self.picks: dict[str, int] = {}
        """Calls sent to each connection key (tells balanced endpoints apart)."""

    async def __aenter__(self) -> McpPool:
        try:
            for key in self.specs:
                await self._connect(key)
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            await conn.close()

    async def _connect(self, name: str) -> _Connection:
        conn = _Connection(self.specs[name], self._timeout_s)
        self._conns[name] = conn
        await conn.start()
        return conn

    def restarts(self, name: str) -> int:
        return self._restarts.get(name, 0)

    def tools(self) -> list[Tool]:
        """Every server tool as an Orchestra :class:`Tool` named ``<server>.<tool>``."""
        out: list[Tool] = []
        for name, balancer in self._endpoints.items():
            conn = self._conns.get(balancer.endpoints[0])
            if conn is None:
                continue
            for mt in conn.tools:
                out.append(self._wrap(name, mt).with_version(conn.version))
        return out

    async def register_into(self, registry: ToolRegistry) -> list[str]:
        names = []
        for t in self.tools():
            registry.register(t, replace=True)
            names.append(t.name)
        return names

    def _wrap(self, server: str, mt: McpTool) -> Tool:
        remote = mt.name

        async def invoke(args: Mapping[str, Any], ctx: ToolContext) -> ToolOutput:
            return await self.call(server, remote, dict(args), ctx)

        schema = dict(mt.input_schema) if mt.input_schema else {"type": "object", "properties": {}}
        return Tool(
            name=f"{server}.{_SAFE.sub('_', remote)}",
            description=mt.description or f"{remote} (MCP server {server})",
            parameters=schema,
            invoke=invoke,
            permission=Permission.EXECUTE,
            source=f"mcp:{server}",
        )

    async def call(
        self, server: str, tool: str, args: dict[str, Any], ctx: ToolContext | None = None
    ) -> ToolOutput:
        """Call ``tool`` on ``server``.

        If the server is found dead *before* the call, it is restarted (once per run)
        and the call is made. If it dies *during* the call, it is restarted for the
        next call but this call is reported as failed, not repeated: it may have had
        side effects.
        """
        balancer = self._endpoints.get(server)
        if balancer is None:
            raise McpServerError(f"MCP server {server!r} is not running in this run")
        with balancer.lease() as key:
            self.picks[key] = self.picks.get(key, 0) + 1
            return await self._call_endpoint(key, server, tool, args, ctx)

    async def _call_endpoint(
        self, key: str, server: str, tool: str, args: dict[str, Any], ctx: ToolContext | None
    ) -> ToolOutput:
        conn = self._conns.get(key)
        if conn is None:
            raise McpServerError(f"MCP server {server!r} is not running in this run")
        if not conn.alive():
            conn = await self._restart(key, conn, conn.error or McpServerError("exited"), ctx)
        client = conn.client
        if client is None:
            raise McpServerError(f"MCP server {server!r} is not connected: {conn.error}")
        try:
            result = await client.call_tool(tool, args)
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:
                raise McpServerError(f"MCP server {server!r} rejected {tool}: {exc}") from exc
            failure: Exception = exc
        except Exception as exc:  # boundary: the transport broke (server died, stream closed)
            failure = exc
        else:
            return _to_output(result)
        await self._restart(key, conn, failure, ctx)
        raise McpServerError(
            f"MCP server {server!r} died during {tool} ({type(failure).__name__}: {failure}); "
            f"{conn.stderr_tail()}it was restarted, but the call was not repeated because it may have "
            "had side effects. Call it again if that is safe.",
            retryable=True,
        ) from failure

    async def _restart(
        self, server: str, failed: _Connection, cause: BaseException, ctx: ToolContext | None
    ) -> _Connection:
        async with self._locks[server]:
            current = self._conns.get(server)
            if current is not None and current is not failed and current.alive():
                return current  # another call already restarted it
            if self._restarts.get(server, 0) >= 1:
                raise McpServerError(
                    f"MCP server {server!r} died again ({type(cause).__name__}: {cause}) after being "
                    f"restarted once this run; {failed.stderr_tail()}fix the server and start a new run",
                ) from cause
            self._restarts[server] = self._restarts.get(server, 0) + 1
            message = (
                f"MCP server {server!r} died ({type(cause).__name__}: {cause}); restarting it once"
            )
            log.warning(message)
            payload = {"message": message, "server": server}
            if self._emit is not None:
                await self._emit("log", payload)
            if ctx is not None:
                await ctx.event("log", payload)
            await failed.close()
            return await self._connect(server)


def _to_output(result: CallToolResult) -> ToolOutput:
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        else:
            parts.append(f"[{getattr(block, 'type', 'content')} content omitted]")
    structured = result.structured_content if isinstance(result.structured_content, dict) else None
    text = "\n".join(parts) if parts else (str(structured) if structured else "")
    return ToolOutput(text=text, data=structured, is_error=bool(result.is_error))
