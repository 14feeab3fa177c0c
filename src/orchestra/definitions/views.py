"""Plain-data views of specs for the CLI's --json, the API and the web UI."""

from __future__ import annotations

from typing import Any

from orchestra.definitions.specs import WorkflowSpec


def workflow_view(spec: WorkflowSpec) -> dict[str, Any]:
    """A workflow as JSON-ready data: steps, the DAG's layers and edges, and final outputs.

    Final outputs are variables no other step reads: what the run produces.
    """
    read = {var for step in spec.steps for var in step.input_vars}
    return {
        "name": spec.name,
        "description": spec.description,
        "path": str(spec.path),
        "source_hash": spec.source_hash,
        "on_failure": spec.on_failure,
        "inputs": [i.model_dump(mode="json") for i in spec.inputs],
        "steps": [
            {
                "id": s.id,
                "agent": s.agent_name,
                "model": spec.agents[s.agent_name].model if s.agent_name in spec.agents else None,
                "inputs": list(s.input_vars),
                "outputs": list(s.output_vars),
                "dependencies": list(s.dependencies),
                "retries": s.retries,
                "timeout_s": s.timeout_s,
                "approval": s.approval,
                "when": s.when,
                "line": s.line,
            }
            for s in spec.steps
        ],
        "layers": spec.layers(),
        "edges": [list(edge) for edge in spec.edges()],
        "outputs": [v for s in spec.steps for v in s.output_vars if v not in read],
    }
