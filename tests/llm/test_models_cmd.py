"""`orchestra models list` and `orchestra models test` on a real project folder."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from orchestra.cli.main import app
from tests.llm.fake_openai import FakeOpenAI, closed_port_base


def write_project(root: Path, server: FakeOpenAI) -> None:
    (root / "orchestra.toml").write_text(
        "[models]\n"
        'default = "gpu"\n'
        'cache = "off"\n'
        "[[models.model_list]]\n"
        'model_name = "gpu"\n'
        f'litellm_params = {{ model = "openai/fake", api_base = "{server.api_base}", api_key = "sk-x" }}\n'
        "[[models.model_list]]\n"
        'model_name = "gpu"\n'
        f'litellm_params = {{ model = "openai/fake", api_base = "{closed_port_base()}", api_key = "sk-x" }}\n'
        "[[models.model_list]]\n"
        'model_name = "demo"\n'
        'litellm_params = { model = "scripted/echo" }\n'
    )


def test_models_list_shows_aliases_and_health(tmp_path: Path, fake_server: FakeOpenAI) -> None:
    write_project(tmp_path, fake_server)
    result = CliRunner().invoke(app, ["models", "list", "--json", "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["default"] == "gpu"
    states = [(d["alias"], d["state"]) for d in data["deployments"]]
    assert states == [("gpu", "up"), ("gpu", "down"), ("demo", "ready"), ("local", "ready")]


def test_models_test_probes_one_alias(tmp_path: Path, fake_server: FakeOpenAI) -> None:
    write_project(tmp_path, fake_server)
    result = CliRunner().invoke(
        app, ["models", "test", "demo", "--prompt", "ping", "--project", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "echo: ping" in result.output
    assert "tokens: 1 in / 2 out" in result.output


def test_models_test_unknown_alias_fails_with_a_hint(
    tmp_path: Path, fake_server: FakeOpenAI
) -> None:
    write_project(tmp_path, fake_server)
    result = CliRunner().invoke(app, ["models", "test", "gpx", "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert "Did you mean gpu" in result.output
