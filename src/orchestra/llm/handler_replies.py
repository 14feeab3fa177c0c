"""What Orchestra's own LiteLLM handlers (``scripted/…``, ``orchestra-local/…``) hand back.

A LiteLLM ``CustomLLM`` answers ``acompletion`` with a ``ModelResponse`` and
``astreaming`` with ``GenericStreamingChunk`` dicts; both handlers build the
same shapes from text, tool calls and token counts, here. LiteLLM is imported
only inside :func:`model_response` because importing it takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Answer:
    """A whole answer of an in-process model, before it is a ``ChatResponse`` or a LiteLLM
    ``ModelResponse``: the gateway reads it directly, the LiteLLM handler wraps it."""

    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """OpenAI-shaped calls: ``{"id", "type": "function", "function": {"name", "arguments"}}``."""
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def model_response(self, model: str) -> Any:
        """The same answer as LiteLLM's ``ModelResponse`` (for the LiteLLM handler)."""
        return model_response(
            model,
            self.content,
            self.tool_calls,
            self.finish_reason,
            self.prompt_tokens,
            self.completion_tokens,
        )


def usage_of(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI's usage object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def model_response(
    model: str,
    content: str | None,
    tool_calls: Sequence[dict[str, Any]],
    finish: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> Any:
    """A whole answer (``litellm.ModelResponse``); tool calls make the finish ``tool_calls``."""
    import litellm

    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
        finish = "tool_calls"
    return litellm.ModelResponse(
        model=model,
        choices=[{"message": message, "finish_reason": finish}],
        usage=usage_of(prompt_tokens, completion_tokens),
    )


def chunk(
    text: str, *, tool_use: dict[str, Any] | None = None, finished: str | None = None
) -> dict[str, Any]:
    """One streamed piece (LiteLLM's ``GenericStreamingChunk``): text or one tool call."""
    return {
        "text": text,
        "tool_use": tool_use,
        "is_finished": finished is not None,
        "finish_reason": finished or "",
        "usage": None,
        "index": 0,
    }


def tool_chunks(tool_calls: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chunk per tool call, indexed in order."""
    return [chunk("", tool_use={**call, "index": i}) for i, call in enumerate(tool_calls)]


def final_chunk(
    finish: str, tool_calls: Sequence[dict[str, Any]], prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """The last chunk: the finish reason (``tool_calls`` when there were calls) and usage."""
    final = chunk("", finished="tool_calls" if tool_calls else finish)
    final["usage"] = usage_of(prompt_tokens, completion_tokens)
    return final
