"""Orchestra as an MCP server: workflows as tools, runs as resources.

* **Tools**: every workflow whose front matter says ``expose: [mcp]``. The tool's input
  schema is the workflow's inputs (all text; required ones required, defaults shown);
  calling it starts a run, sends a progress notification for each step that starts or
  ends (when the client asked for progress), and answers with the run's final outputs
  as structured content (and as JSON text). A run that fails answers ``isError`` with
  the reason, so the calling model can read it.
* **Resources**: ``orchestra://runs`` (the latest runs) and ``orchestra://runs/{id}``
  (one run: status, inputs, outputs, error, steps); the template is listed.

The same :class:`mcp.server.lowlevel.Server` is served over stdio (``orchestra mcp``)
and over streamable HTTP at ``/mcp`` on ``orchestra serve``
(:mod:`orchestra.protocols.mount`), where the caller's API key decides what it may do:
reading needs any key, calling a tool (which starts a run) needs ``operator``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from orchestra.engine.errors import RunNotFound, WorkflowInputError
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.protocols.runs import (
    RunBridge,
    error_text,
    exposed_workflows,
    final_outputs,
    input_schema,
    run_summary,
)
from orchestra.runtime.container import Container
from orchestra.runtime.keys import Identity
from orchestra.tools.access import access_from

RUNS_URI = "orchestra://runs"
RUN_TEMPLATE = "orchestra://runs/{run_id}"
IDENTITY_KEY = "orchestra.identity"
"""Where the HTTP mount leaves the caller's :class:`Identity` in the ASGI scope."""
RECENT_RUNS = 50

_PROGRESS_EVENTS = (EventType.STEP_STARTED, EventType.STEP_COMPLETE, EventType.STEP_FAILED)


def caller(ctx: ServerRequestContext[Any, Any]) -> Identity | None:
    """The authenticated caller over HTTP; None over stdio (a local process, trusted like
    the CLI that started it)."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        identity = scope.get(IDENTITY_KEY)
        if isinstance(identity, Identity):
            return identity
    return None


def role_of(identity: Identity | None) -> str | None:
    """The role whose ``[tools.access.roles.<role>]`` layer applies (none over stdio)."""
    return identity.role if identity is not None else None


def build_mcp_server(container: Callable[[], Container]) -> Server[Any]:
    """The MCP server over the container ``container()`` returns (looked up per request, so
    the server can be built before the container has opened)."""
    bridge = RunBridge(container)

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = [
            types.Tool(
                name=name,
                description=spec.description or f"Run the Orchestra workflow {name}.",
                input_schema=input_schema(spec),
            )
            for name, spec in sorted(exposed_workflows(bridge.container.project, "mcp").items())
            if access_from(bridge.container.settings.tools.access).refusal(
                name, role=role_of(caller(ctx))
            )
            is None
        ]
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        identity = caller(ctx)
        if identity is not None and not identity.allows("operator"):
            raise MCPError(
                types.INVALID_REQUEST,
                f"calling a tool starts a run, which needs the operator role; key "
                f"{identity.key_id!r} is {identity.role}. Ask an admin for an operator key",
            )
        access = access_from(bridge.container.settings.tools.access)
        refusal = access.refusal(params.name, role=role_of(identity))
        if refusal is not None:
            raise MCPError(types.INVALID_REQUEST, refusal)
        workflows = exposed_workflows(bridge.container.project, "mcp")
        spec = workflows.get(params.name)
        if spec is None:
            raise MCPError(
                types.INVALID_PARAMS,
                f"no tool {params.name!r}; tools: {', '.join(sorted(workflows)) or 'none'} "
                "(a workflow becomes a tool with 'expose: [mcp]' in its front matter)",
            )
        arguments = params.arguments or {}
        inputs = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in arguments.items()
        }
        try:
            run_id = await bridge.start(spec, inputs)
        except WorkflowInputError as error:
            return _error_result(str(error))
        total = float(len(spec.steps))
        done = 0

        async def progress(event: ExecutionEvent) -> None:
            nonlocal done
            if event.type not in _PROGRESS_EVENTS:
                return
            if event.type is not EventType.STEP_STARTED:
                done += 1
            verb = {"step_started": "started", "step_complete": "done", "step_failed": "failed"}
            await ctx.session.report_progress(
                float(done), total, f"run {run_id}: step {event.step_id} {verb[event.type.value]}"
            )

        record = await bridge.follow(run_id, progress)
        if record.status is not RunStatus.SUCCEEDED:
            return _error_result(error_text(record), {"run_id": run_id})
        outputs = final_outputs(record)
        structured = {"run_id": run_id, "outputs": outputs}
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(structured))],
            structured_content=structured,
        )

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        rows = await bridge.container.queries.page(RECENT_RUNS)
        resources = [
            types.Resource(
                uri=RUNS_URI,
                name="runs",
                description=f"The latest {RECENT_RUNS} runs",
                mime_type="application/json",
            )
        ] + [
            types.Resource(
                uri=RUN_TEMPLATE.format(run_id=row.id),
                name=f"run {row.id}",
                description=f"{row.workflow} ({row.status.value})",
                mime_type="application/json",
            )
            for row in rows
        ]
        return types.ListResourcesResult(resources=resources)

    async def list_templates(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=RUN_TEMPLATE,
                    name="run",
                    description="One run: status, inputs, outputs, error and steps",
                    mime_type="application/json",
                )
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        if uri == RUNS_URI:
            rows = await bridge.container.queries.page(RECENT_RUNS)
            body: Any = [
                {"id": row.id, "workflow": row.workflow, "status": row.status.value} for row in rows
            ]
        elif uri.startswith(RUNS_URI + "/"):
            run_id = RunId(uri.removeprefix(RUNS_URI + "/"))
            try:
                body = run_summary(await bridge.container.runs.get(run_id))
            except RunNotFound as missing:
                raise MCPError(types.INVALID_PARAMS, str(missing)) from missing
        else:
            raise MCPError(
                types.INVALID_PARAMS,
                f"unknown resource {uri!r}; read {RUNS_URI} or {RUN_TEMPLATE}",
            )
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri, mime_type="application/json", text=json.dumps(body)
                )
            ]
        )

    return Server(
        "orchestra",
        version="1",
        instructions="Orchestra workflows as tools; runs as resources (orchestra://runs).",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


def _error_result(message: str, structured: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)],
        structured_content={"error": message, **(structured or {})},
        is_error=True,
    )
