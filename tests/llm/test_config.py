"""Gateway configuration: LiteLLM's model_list format, models.yaml, the settings adapter."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestra.llm.config import LOCAL_MODEL, GatewayConfig
from orchestra.llm.errors import ModelConfigError


def test_local_alias_is_added_and_is_the_default() -> None:
    resolved = GatewayConfig().resolved()
    assert resolved.default == "local"
    assert resolved.model_list == [
        {"model_name": "local", "litellm_params": {"model": LOCAL_MODEL}}
    ]


def test_models_file_is_merged_with_inline_entries(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        "model_list:\n"
        "  - model_name: gpu\n"
        "    litellm_params: {model: hosted_vllm/devstral, api_base: 'http://gpu0:8000/v1'}\n"
        "  - model_name: gpu\n"
        "    litellm_params: {model: hosted_vllm/devstral, api_base: 'http://gpu1:8000/v1'}\n"
        "router_settings:\n  routing_strategy: least-busy\n  num_retries: 2\n"
    )
    config = GatewayConfig(
        models_file=models,
        model_list=[{"model_name": "cloud", "litellm_params": {"model": "openai/gpt-4o-mini"}}],
        router_settings={"num_retries": 3},
        default="gpu",
    )
    resolved = config.resolved()
    assert resolved.aliases == ["gpu", "cloud", "local"]
    assert resolved.router_settings == {"routing_strategy": "least-busy", "num_retries": 3}


def test_deployment_without_model_names_the_fix() -> None:
    config = GatewayConfig(model_list=[{"model_name": "x", "litellm_params": {}}])
    with pytest.raises(
        ModelConfigError, match=r"model_list\[0\] \(x\) needs 'litellm_params.model'"
    ):
        config.resolved()


def test_default_must_be_an_alias() -> None:
    with pytest.raises(ModelConfigError, match="not an alias"):
        GatewayConfig(default="nope").resolved()


def test_broken_models_file_is_a_config_error(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text("model_list: [unclosed\n")
    with pytest.raises(ModelConfigError, match="invalid YAML"):
        GatewayConfig(models_file=models).resolved()


def test_from_settings_reads_the_models_section(tmp_path: Path) -> None:
    settings = SimpleNamespace(
        models=SimpleNamespace(
            default="cloud",
            model_list=[{"model_name": "cloud", "litellm_params": {"model": "openai/gpt-4o"}}],
            router_settings={},
            models_file=None,
            cache="memory",
            redis_url=None,
            num_retries=1,
            timeout_s=30.0,
        )
    )
    config = GatewayConfig.from_settings(settings)
    assert (config.default, config.cache, config.timeout_s) == ("cloud", "memory", 30.0)
    assert config.resolved().aliases == ["cloud", "local"]
