"""A LiteLLM proxy config pasted as the models file, bad router settings, a Redis cache that
is not running: each is reported clearly at start, and what can go on does."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import ModelConfigError
from orchestra.llm.gateway import build_gateway
from orchestra.llm.types import ChatMessage, ChatRequest

PROXY_CONFIG = """model_list:
  - model_name: echo
    litellm_params: {model: scripted/echo}
router_settings:
  num_retries: 0
litellm_settings:
  drop_params: true
  request_timeout: 30
general_settings:
  master_key: sk-1234
"""


def test_proxy_only_sections_of_a_models_file_are_named_as_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(PROXY_CONFIG)
    with caplog.at_level(logging.WARNING, logger="orchestra.llm.config"):
        resolved = GatewayConfig(models_file=models).resolved()
    assert "echo" in resolved.aliases and resolved.router_settings == {"num_retries": 0}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    litellm, general = warnings
    assert str(models) in litellm and "'litellm_settings' (drop_params, request_timeout)" in litellm
    assert "[models].num_retries" in litellm and "is ignored" in litellm
    assert "'general_settings' (master_key)" in general and "sk-1234" not in general


async def test_an_unknown_router_setting_names_its_file_and_a_real_suggestion(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        "model_list: []\nrouter_settings:\n  Routing-Stratgy: least-busy\n  frobnicate: 1\n"
    )
    # The Router (and this check) are built when LiteLLM has loaded, before the first call.
    gateway = build_gateway(GatewayConfig(cache="off", models_file=models))
    with pytest.raises(ModelConfigError) as caught:
        await gateway.ready()
    message = str(caught.value)
    assert f"{models}: router_settings: unknown setting 'Routing-Stratgy'; did you mean " in message
    assert "'routing_strategy'" in message
    assert "unknown setting 'frobnicate'" in message
    assert "did you mean ?" not in message and "did you mean" not in message.split("frobnicate")[1]


async def test_an_unknown_inline_router_setting_points_at_orchestra_toml() -> None:
    gateway = build_gateway(GatewayConfig(cache="off", router_settings={"num_retrys": 1}))
    with pytest.raises(ModelConfigError, match=r"\[models\]\.router_settings in orchestra\.toml"):
        await gateway.ready()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


async def test_a_redis_cache_that_is_not_running_is_warned_once_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    with caplog.at_level(logging.WARNING):
        gateway = build_gateway(GatewayConfig(cache="redis", redis_url=url, num_retries=0))
        try:
            request = ChatRequest(
                model="scripted/echo",
                messages=[ChatMessage(role="user", content="hi")],
                cache=True,
            )
            first = await gateway.chat(request)
            second = await gateway.chat(request)
        finally:
            await gateway.close()
    assert first.content == second.content == "echo: hi"
    assert not second.usage.cached  # no cache: the model answered again
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert (
        url in warnings[0].getMessage() and "without a response cache" in warnings[0].getMessage()
    )
    assert not any(r.exc_info for r in caplog.records)  # no tracebacks
