"""The llama.cpp grammars of the embedded model: a forced tool call, a structured answer.

A 270M base model rarely writes a tool call on its own, so ``tool_choice``
(OpenAI semantics) is enforced with a grammar built from the offered tools' JSON
schemas (:func:`tool_call_schema`), and a step's output schema becomes the
grammar of its answer (:func:`answer_schema_of`). Both bound their strings and
arrays: llama.cpp's grammar sampler is slow and crashed on long repetitions, and
a small model under a grammar otherwise fills them until the token cap.
"""

from __future__ import annotations

from typing import Any


def offered_tools(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The tools this call may use after ``tool_choice``: all, the named one, or none."""
    tools: list[dict[str, Any]] = list(params.get("tools") or [])
    choice = params.get("tool_choice")
    if choice == "none":
        return []
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return [t for t in tools if t["function"]["name"] == name]
    return tools


def tool_call_schema(params: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a forced call must follow, or None when the model may answer freely.

    ``{"tool_call": {"name": <const>, "arguments": <the tool's schema>}}`` for each
    offered tool (``anyOf`` when several); ``$ref``s are inlined because each tool's
    schema is nested under ``arguments`` here, away from its own ``$defs``. Only the
    required arguments are allowed (optional ones keep their defaults: a small model
    fills them with values their constraints, which the grammar cannot express,
    reject), and arrays and strings are capped (:func:`_bounded`).
    """
    choice = params.get("tool_choice")
    if choice != "required" and not isinstance(choice, dict):
        return None
    variants = []
    for spec in offered_tools(params):
        function = spec["function"]
        arguments = _bounded(_inline_refs(function.get("parameters") or {"type": "object"}))
        if isinstance(arguments, dict) and "properties" in arguments:
            required = set(arguments.get("required") or ())
            arguments = {
                **arguments,
                "properties": {
                    name: prop for name, prop in arguments["properties"].items() if name in required
                },
                "additionalProperties": False,
            }
        variants.append(
            {
                "type": "object",
                "properties": {"name": {"const": function["name"]}, "arguments": arguments},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    if not variants:
        return None
    call = variants[0] if len(variants) == 1 else {"anyOf": variants}
    return {
        "type": "object",
        "properties": {"tool_call": call},
        "required": ["tool_call"],
        "additionalProperties": False,
    }


GRAMMAR_MAX_ITEMS = 6
GRAMMAR_MAX_CHARS = 240
ANSWER_MAX_CHARS = 500
"""Longer bounds make llama.cpp's grammar (a repetition per character) crash at 1200."""


def _bounded(schema: Any, max_chars: int = GRAMMAR_MAX_CHARS) -> Any:
    """Cap unbounded arrays and strings: a small model under a grammar otherwise repeats
    items until it runs out of tokens, and the truncated call is lost."""
    if isinstance(schema, list):
        return [_bounded(item, max_chars) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: _bounded(value, max_chars) for key, value in schema.items()}
    if schema.get("type") == "array" and "maxItems" not in schema:
        bounded["maxItems"] = max(GRAMMAR_MAX_ITEMS, int(schema.get("minItems", 0)))
    plain_string = not {"maxLength", "enum", "const", "pattern", "format"} & set(schema)
    if schema.get("type") == "string" and plain_string:
        bounded["maxLength"] = max(max_chars, int(schema.get("minLength", 0)))
    return bounded


def _inline_refs(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """``schema`` with local ``#/...`` references replaced by their targets (depth-capped)."""
    root = schema if root is None else root
    if isinstance(schema, list):
        return [_inline_refs(item, root, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and depth < 8:
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _inline_refs(target, root, depth + 1)
    return {
        key: _inline_refs(value, root, depth)
        for key, value in schema.items()
        if key not in ("$defs", "definitions")
    }


def answer_schema_of(params: dict[str, Any]) -> dict[str, Any] | None:
    """The structured answer's JSON schema (``response_format``), strings bounded."""
    schema = ((params.get("response_format") or {}).get("json_schema") or {}).get("schema")
    return None if schema is None else _bounded(schema, ANSWER_MAX_CHARS)
