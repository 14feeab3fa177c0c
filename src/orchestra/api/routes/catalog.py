"""Workflows and agents of the project (re-read from disk as files change), and ``/me``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from orchestra.api import schemas, views
from orchestra.api.deps import Services, Viewer
from orchestra.api.errors import not_found
from orchestra.api.routes import ERRORS
from orchestra.definitions.workflow_file import read_workflow
from orchestra.definitions.workflow_graph import link_workflow

router = APIRouter(responses=ERRORS)


@router.get("/me", response_model=schemas.Me, tags=["auth"])
async def me(who: Viewer) -> schemas.Me:
    """Who this key is and what it may do."""
    return schemas.Me(key_id=who.key_id, name=who.name, role=who.role)


@router.get("/workflows", response_model=list[schemas.WorkflowSummary], tags=["workflows"])
async def list_workflows(who: Viewer, services: Services) -> list[schemas.WorkflowSummary]:
    """Every valid workflow of the project, by name."""
    workflows = services.project.workflows
    return [views.workflow_summary(workflows[name]) for name in sorted(workflows)]


@router.get("/workflows/{name}", response_model=schemas.Workflow, tags=["workflows"])
async def get_workflow(name: str, who: Viewer, services: Services) -> schemas.Workflow:
    """One workflow with its DAG (layers and edges). Invalid files answer 422 with diagnostics."""
    return views.workflow(services.project.workflow(name), services.project.root)


@router.post("/workflows/validate", response_model=schemas.ValidateResult, tags=["workflows"])
async def validate_workflow(
    body: schemas.ValidateRequest, who: Viewer, services: Services
) -> schemas.ValidateResult:
    """Check a workflow file's text against the project's agents, without saving it."""
    project = services.project
    path = project.root / "workflows" / Path(body.filename).name
    raw = read_workflow(path, body.content)
    _, diagnostics = link_workflow(raw, project, "")
    return schemas.ValidateResult(
        ok=not any(d.severity == "error" for d in diagnostics),
        diagnostics=[
            schemas.Diagnostic.model_validate(views.diagnostic(d, project.root))
            for d in diagnostics
        ],
    )


@router.get("/agents", response_model=list[schemas.Agent], tags=["agents"])
async def list_agents(who: Viewer, services: Services) -> list[schemas.Agent]:
    """Every valid agent of the project; ``state`` is ``active`` while one of its steps runs."""
    active = services.active.agents()
    agents = services.project.agents
    root = services.project.root
    return [views.agent(agents[name], name in active, root) for name in sorted(agents)]


@router.get("/agents/{name}", response_model=schemas.Agent, tags=["agents"])
async def get_agent(name: str, who: Viewer, services: Services) -> schemas.Agent:
    spec = services.project.agents.get(name)
    if spec is None:
        known = ", ".join(sorted(services.project.agents)) or "none"
        raise not_found(f"no agent named {name!r}; agents: {known}")
    return views.agent(spec, name in services.active.agents(), services.project.root)
