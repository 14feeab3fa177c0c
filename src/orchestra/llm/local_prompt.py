"""How the embedded base model is asked, and how its runaway answers are cut.

The packaged Gemma 3 270M is a *base* model: it has no chat template and never
learnt to end a turn, so Gemma's ``<start_of_turn>`` format made it echo the
prompt and loop until the token cap. It is prompted as what it is, a text
continuer: one short worked example, then the request written the same way,
ending at ``Answer:`` (or ``Tool call:`` when a grammar forces a call). The
example's separator and field names are the stop sequences, so the model
stops where the example's answer stopped.

A small model still falls into loops. :func:`repetition_start` finds where an
8-word sequence comes back; the runtime stops generating there
(:class:`RepetitionStop`) and :func:`cut_repetition` drops the loop, so a
repetition is never an answer, let alone a step's stored output.
"""

from __future__ import annotations

import json
import re
from typing import Any

NGRAM = 8
"""Words in the sequence whose return marks a runaway repetition."""

SEPARATOR = "###"
STOP_SEQUENCES = [SEPARATOR, "\nRequest:", "\nTool result:", "\nAnswer:", "<end_of_turn>"]
"""Where the worked example's answer ends; a base model writes these when it goes on."""

TEXT_TOKENS = 320
"""Cap for a free-text answer: a few sentences or a short list, which is what a 270M
model can write before it drifts."""
CALL_TOKENS = 512
"""Cap for a forced tool call: the grammar bounds its strings (``local_grammar._bounded``), and a
call cut short by the cap is lost, so the cap leaves room for the longest valid call."""
FIELD_TOKENS = 200
"""Cap per property of a structured answer (strings bounded to 500 characters)."""

TEXT_REPEAT_PENALTY = 1.2
GRAMMAR_REPEAT_PENALTY = 1.05
"""Milder under a grammar: JSON repeats its quotes and braces by design."""

_EXAMPLE_PLAIN = (
    "Each request below is answered briefly, using only the facts it gives.\n\n"
    "Request: Summarise this note in one sentence.\n"
    "Note: The bakery on Elm Street opens at 7, sells rye bread, and closes on Mondays.\n"
    "Answer: The Elm Street bakery sells rye bread, opens at 7 and is closed on Mondays.\n"
    f"{SEPARATOR}\n"
)
_EXAMPLE_JSON = (
    "Each request below is answered briefly, using only the facts it gives.\n\n"
    "Request: From this note, give the bakery's street and its closing day.\n"
    "Note: The bakery on Elm Street opens at 7, sells rye bread, and closes on Mondays.\n"
    "Answer with a JSON object whose keys are exactly: Street, Closed (each value a string).\n"
    'Answer: {"Street": "Elm Street", "Closed": "Monday"}\n'
    f"{SEPARATOR}\n"
)
_EXAMPLE_TOOLS = (
    "Each request below is answered briefly, using only the facts it gives and the "
    "results of the tools it calls.\n\n"
    "Request: Read the file todo.txt and say what it asks for.\n"
    'Tool call: {"tool_call": {"name": "files.read", "arguments": {"path": "todo.txt"}}}\n'
    "Tool result: Water the plants on Friday.\n"
    "Answer: todo.txt asks for the plants to be watered on Friday.\n"
    f"{SEPARATOR}\n"
)


def render_prompt(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    answer: bool = False,
    call: bool = False,
    structured: bool = False,
) -> str:
    """A completion prompt: the worked example, then the conversation as one request.

    ``answer`` (``tool_choice: none`` after tool calls) asks for the plain answer
    from the results; ``call`` (a grammar forces a tool call) ends at ``Tool call:``;
    ``structured`` (a grammar forces a JSON answer) shows a JSON answer in the example.
    """
    system = "\n\n".join(
        str(m.get("content") or "").strip() for m in messages if m["role"] == "system"
    )
    used_tools = bool(tools) or any(m["role"] == "tool" for m in messages)
    example = _EXAMPLE_JSON if structured else _EXAMPLE_PLAIN
    parts = [_EXAMPLE_TOOLS if used_tools else example]
    if system:
        parts.append(system + "\n\n")
    if tools:
        listing = "\n".join(_describe_tool(t["function"]) for t in tools)
        parts.append(
            "Tools (to call one, write Tool call: and the JSON "
            '{"tool_call": {"name": "<tool>", "arguments": {...}}}):\n' + listing + "\n\n"
        )
    for message in messages:
        role = message["role"]
        content = str(message.get("content") or "").strip()
        if role == "user":
            parts.append(f"Request: {content}\n")
        elif role == "tool":
            parts.append(f"Tool result: {content}\n")
        elif role == "assistant":
            if content:
                parts.append(f"Answer: {content}\n")
            for c in message.get("tool_calls") or []:
                written = {
                    "tool_call": {
                        "name": c["function"]["name"],
                        "arguments": _decoded(c["function"]["arguments"]),
                    }
                }
                parts.append(f"Tool call: {json.dumps(written)}\n")
    if answer:
        parts.append("Now answer the request in plain text from these results; call no tool.\n")
    parts.append("Tool call:" if call else "Answer:")
    return "".join(parts)  # llama.cpp adds <bos>


def _describe_tool(function: dict[str, Any]) -> str:
    """One line per tool: name, description and each argument with its own description.

    Plain words rather than the JSON schema: a small model copies what it reads, and
    schema keywords and titles made it fill arguments with names like "files.write.path".
    """
    parameters = function.get("parameters") or {}
    required = set(parameters.get("required") or ())
    described = []
    for name, prop in (parameters.get("properties") or {}).items():
        kind = prop.get("type") if isinstance(prop, dict) else None
        note = prop.get("description", "") if isinstance(prop, dict) else ""
        label = f"{name} ({kind}{'' if name in required else ', optional'})" if kind else name
        described.append(f"{label}: {note}".rstrip(": "))
    arguments = "; ".join(described) if described else "none"
    return f"- {function['name']}: {function.get('description', '')} Arguments: {arguments}"


def _decoded(arguments: Any) -> Any:
    """Arguments as the JSON value the model wrote (they travel as a JSON string)."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def parse_tool_call(text: str, tool_names: set[str]) -> tuple[str, str] | None:
    """``(name, arguments JSON)`` when the local model answered with a tool-call object."""
    try:
        data = loads_grammar_json(text.strip())
    except ValueError:
        return None
    call = data.get("tool_call") if isinstance(data, dict) else None
    if not isinstance(call, dict) or call.get("name") not in tool_names:
        return None
    arguments = call.get("arguments", {})
    return str(call["name"]), arguments if isinstance(arguments, str) else json.dumps(arguments)


def token_cap(params: dict[str, Any], schema: dict[str, Any] | None, *, call: bool) -> int:
    """The caller's ``max_tokens``, else a cap that fits what the step asks for."""
    asked = params.get("max_tokens") or params.get("max_completion_tokens")
    if asked:
        return int(asked)
    if call:
        return CALL_TOKENS
    if schema is not None:
        fields = len(schema.get("properties") or {}) or 1
        return min(6 * FIELD_TOKENS, FIELD_TOKENS * fields + 32)
    return TEXT_TOKENS


_WORD = re.compile(r"\S+")


def _word_spans(text: str) -> list[tuple[int, str]]:
    """(start offset, normalised word); punctuation is ignored so that a loop that
    changes only a comma still counts as one."""
    spans = []
    for match in _WORD.finditer(text):
        word = re.sub(r"[^\w]", "", match.group().lower())
        spans.append((match.start(), word or match.group()))
    return spans


def repetition_start(text: str, n: int = NGRAM) -> int | None:
    """Offset where an ``n``-word sequence of ``text`` occurs for the second time."""
    spans = _word_spans(text)
    seen: set[tuple[str, ...]] = set()
    for i in range(len(spans) - n + 1):
        gram = tuple(word for _, word in spans[i : i + n])
        if gram in seen:
            return spans[i][0]
        seen.add(gram)
    return None


def cut_repetition(text: str) -> str:
    """``text`` up to where it starts repeating itself (all of it when it does not)."""
    start = repetition_start(text)
    return text if start is None else text[:start].rstrip()


def cut_repetition_in_json(text: str) -> str:
    """A structured answer with each string value cut where it starts repeating, written
    as strict JSON (:func:`loads_grammar_json`).

    Text that is not JSON is returned unchanged: the gateway's answer check refuses it.
    """
    try:
        data = loads_grammar_json(text)
    except ValueError:
        return text
    cleaned = cut_strings(data)
    return text if cleaned == data and _strict_json(text) else json.dumps(cleaned)


def _strict_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:  # raw control characters in a string
        return False
    return True


def cut_strings(value: Any) -> Any:
    """``value`` (decoded JSON) with each string cut where it starts repeating."""
    if isinstance(value, str):
        return cut_repetition(value)
    if isinstance(value, list):
        return [cut_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: cut_strings(item) for key, item in value.items()}
    return value


def loads_grammar_json(text: str) -> Any:
    """JSON written under a llama.cpp grammar, raw control characters in strings allowed.

    llama-cpp-python 0.3.36 converts a JSON schema to a grammar whose string
    characters are ``[^"\\]``, so the model may write a raw newline inside a string,
    which strict JSON refuses: a forced tool call that was otherwise whole became no
    call, and a retry at the same low temperature wrote it again (the flaky demo test).
    The value is the one the model meant; it is written out again as strict JSON.
    """
    return json.loads(text, strict=False)


def streamable_length(text: str, emitted: int) -> int:
    """How much of ``text`` may be streamed now: all but its last ``NGRAM + 2`` words,
    which a repetition found later could still cut; never less than ``emitted``."""
    spans = _word_spans(text)
    if len(spans) <= NGRAM + 2:
        return emitted
    return max(emitted, spans[-(NGRAM + 2)][0])


class RepetitionStop:
    """A llama.cpp stopping criterion: stop once the generated text starts repeating.

    ``prompt_tokens`` is where the answer starts in the ids llama.cpp passes; the
    prompt itself may repeat (and the answer may quote it) without stopping anything.
    """

    def __init__(self, llm: Any, prompt_tokens: int) -> None:
        self.llm = llm
        self.prompt_tokens = prompt_tokens
        self.stopped = False

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        generated = list(input_ids[self.prompt_tokens :])
        if len(generated) < NGRAM * 2:
            return False
        text = self.llm.detokenize(generated).decode("utf-8", "replace")
        self.stopped = self.stopped or repetition_start(text) is not None
        return self.stopped
