"""The JSON schema of a plan, generated from the catalogue.

Each step is one of the catalogue's (agent, action) pairs, with ``agent`` and
``action`` as constants and the action's required parameters required, so a model
constrained to this schema (the embedded llama.cpp model compiles it to a grammar)
cannot name an agent or action that does not exist or leave a parameter out. What a
schema cannot say (dependencies on existing steps, no cycles) :mod:`validate` checks.
"""

from __future__ import annotations

from typing import Any

from orchestra.planner.catalogue import Catalogue

STEP_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,39}$"
MAX_STEPS = 20
MAX_TEXT = 300
"""Strings are bounded so a small grammar-constrained model cannot ramble in one until
its token cap (an unterminated string is not a plan)."""


def _param_schema(properties: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {name: {"type": "string", "maxLength": MAX_TEXT} for name in required}
    for name, prop in properties.items():
        if name in props:
            kind = prop.get("type") if isinstance(prop, dict) else None
            if kind in ("integer", "number", "boolean"):
                props[name] = {"type": kind}
    return {"type": "object", "properties": props, "required": list(required)}


def plan_schema(catalogue: Catalogue) -> dict[str, Any]:
    """The schema every plan must match."""
    variants: list[dict[str, Any]] = []
    for agent in catalogue.agents:
        for action in agent.actions:
            variants.append(
                {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "pattern": STEP_ID_PATTERN},
                        "agent": {"const": agent.name},
                        "action": {"const": action.name},
                        "params": _param_schema(dict(action.properties), action.required),
                        "depends_on": {
                            "type": "array",
                            "items": {"type": "string", "pattern": STEP_ID_PATTERN},
                            "maxItems": MAX_STEPS,
                        },
                    },
                    "required": ["id", "agent", "action", "params", "depends_on"],
                }
            )
    return {
        "type": "object",
        "properties": {
            "objective": {"type": "string", "maxLength": MAX_TEXT},
            "steps": {
                "type": "array",
                "items": {"anyOf": variants},
                "minItems": 1,
                "maxItems": MAX_STEPS,
            },
        },
        "required": ["objective", "steps"],
    }
