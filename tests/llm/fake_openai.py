"""A real OpenAI-compatible HTTP server on 127.0.0.1 that misbehaves on purpose.

Each server answers ``POST /v1/chat/completions`` (plain or SSE streaming) and
``GET /v1/models``. What it does per request comes from ``behaviours`` (consumed
in order) and then ``default``:

* ``ok``            a normal answer ``"<name> says hi"`` (or a tool call if tools were sent)
* ``slow``          sleeps ``slow_s`` before answering (to trip client timeouts)
* ``rate_limit``    429 with ``Retry-After: <retry_after>``
* ``server_error``  500;  ``unavailable``: 503
* ``bad_tool_json`` a tool call whose arguments are not JSON
* ``context_window`` 400 with OpenAI's context_length_exceeded error
* ``stream_break``  (streaming) sends the first words, then drops the connection mid-body
* ``no_finish``     (streaming) sends the first words and ends the body cleanly without a
                    finish reason (what llama-cpp-python's server does to an earlier stream
                    when a new request arrives)
* ``empty``         an answer with empty content and ``finish_reason: stop``

``content`` replaces the ``"<name> says hi"`` text of ``ok`` answers (e.g. a JSON answer).

It runs uvicorn in a thread with its own event loop, so the test's loop (and
the gateway in it) talks to it over real sockets. :class:`FakeOpenAIProcess`
runs one in a child process instead (``python -m tests.llm.fake_openai``), for
tests that kill a server the way a crashed GPU box dies.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class FakeOpenAI:
    name: str
    default: str = "ok"
    behaviours: list[str] = field(default_factory=list)
    slow_s: float = 3.0
    retry_after: float = 1.0
    content: str | None = None
    hits: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def deployment(
        self, alias: str, model: str = "openai/fake-model", **extra: Any
    ) -> dict[str, Any]:
        """A model_list entry pointing at this server."""
        return {
            "model_name": alias,
            "litellm_params": {
                "model": model,
                "api_base": self.api_base,
                "api_key": "sk-test",
                **extra,
            },
        }

    def _next_behaviour(self) -> str:
        return self.behaviours.pop(0) if self.behaviours else self.default

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.hits += 1
        self.requests.append(body)
        behaviour = self._next_behaviour()
        if behaviour == "slow":
            await asyncio.sleep(self.slow_s)
        elif behaviour == "rate_limit":
            return JSONResponse(
                {
                    "error": {
                        "message": "rate limited",
                        "type": "rate_limit_error",
                        "code": "rate_limit",
                    }
                },
                status_code=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        elif behaviour == "server_error":
            return JSONResponse(
                {"error": {"message": "boom", "type": "server_error"}}, status_code=500
            )
        elif behaviour == "unavailable":
            return JSONResponse(
                {"error": {"message": "overloaded", "type": "server_error"}}, status_code=503
            )
        elif behaviour == "context_window":
            return JSONResponse(
                {
                    "error": {
                        "message": "This model's maximum context length is 4096 tokens. However, "
                        "your messages resulted in 9000 tokens. Please reduce the length of the messages.",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": "context_length_exceeded",
                    }
                },
                status_code=400,
            )
        text = self.content if self.content is not None else f"{self.name} says hi"
        if behaviour == "empty":
            text = ""
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        if body.get("tools") or behaviour == "bad_tool_json":
            tool = body["tools"][0]["function"]["name"] if body.get("tools") else "lookup"
            arguments = '{"query": "x"' if behaviour == "bad_tool_json" else '{"query": "x"}'
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": tool, "arguments": arguments},
                    }
                ],
            }
            finish = "tool_calls"
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        if body.get("stream"):
            return StreamingResponse(
                self._sse(body, message, finish, usage, behaviour), media_type="text/event-stream"
            )
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake-model"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
        )

    async def _sse(
        self,
        body: dict[str, Any],
        message: dict[str, Any],
        finish: str,
        usage: dict[str, int],
        behaviour: str = "ok",
    ) -> Any:
        def event(delta: dict[str, Any], finish_reason: str | None, **extra: Any) -> str:
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "fake-model"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **extra,
            }
            return f"data: {json.dumps(chunk)}\n\n"

        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            yield event({"role": "assistant", "tool_calls": [{**call, "index": 0}]}, None)
        else:
            words = message["content"].split(" ")
            if behaviour in ("stream_break", "no_finish"):
                words = words[: max(1, len(words) // 2)]
            for i, word in enumerate(words):
                yield event({"role": "assistant", "content": word if i == 0 else " " + word}, None)
            if behaviour == "stream_break":
                await asyncio.sleep(0.05)  # let the first words reach the client
                raise ConnectionAbortedError("fake server drops the stream on purpose")
            if behaviour == "no_finish":
                yield "data: [DONE]\n\n"  # a clean end, but no chunk ever said why
                return
        yield event({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            yield f"data: {json.dumps({'id': 'chatcmpl-1', 'object': 'chat.completion.chunk', 'created': 0, 'model': 'fake-model', 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    def start(self) -> FakeOpenAI:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


class FakeOpenAIProcess:
    """A :class:`FakeOpenAI` in a child process, which a test can kill (SIGKILL).

    Started with its readiness line (``ready <port>``) read from the child's
    stdout, so a slow machine waits as long as it takes and no longer.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def deployment(
        self, alias: str, model: str = "openai/fake-model", **extra: Any
    ) -> dict[str, Any]:
        """A model_list entry pointing at this server."""
        return {
            "model_name": alias,
            "litellm_params": {
                "model": model,
                "api_base": self.api_base,
                "api_key": "sk-test",
                **extra,
            },
        }

    def start(self) -> FakeOpenAIProcess:
        root = Path(__file__).resolve().parents[2]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.llm.fake_openai", self.name],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("ready "):
            self._process.kill()
            raise RuntimeError(f"fake OpenAI server process did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def kill(self) -> None:
        """SIGKILL, and wait until the process is gone: its port refuses connections."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    stop = kill


def closed_port_base() -> str:
    """An api_base on 127.0.0.1 where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"


if __name__ == "__main__":
    server = FakeOpenAI(sys.argv[1] if len(sys.argv) > 1 else "child").start()
    print(f"ready {server.port}", flush=True)
    assert server._thread is not None
    server._thread.join()
