"""The settings model on its own: defaults, derived paths, no ambient state."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestra.config import Settings


def test_defaults_live_under_the_project(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    state = tmp_path / ".orchestra"
    assert settings.state_dir == state
    assert settings.log_file == state / "logs" / "orchestra.jsonl"
    assert settings.database.url == f"sqlite+aiosqlite:///{state / 'orchestra.db'}"
    assert settings.workspaces.root == state / "workspaces"


def test_documented_defaults(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    assert settings.log_level == "INFO"
    assert (settings.engine.max_concurrency, settings.engine.lease_seconds) == (1024, 30)
    assert settings.engine.default_on_failure == "fail_fast"
    assert (settings.models.default, settings.models.cache) == ("local", "disk")
    assert (settings.models.num_retries, settings.models.timeout_s) == (1, 120)
    assert settings.tools.output_limit_chars == 16_000
    assert settings.tools.shell_allowlist[:3] == ["ls", "cat", "echo"]
    assert settings.tools.allow_private_network is False
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8765)
    assert settings.workspaces.venv is False


def test_state_paths_follow_state_dir(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, state_dir="/var/orchestra")
    assert settings.log_file == Path("/var/orchestra/logs/orchestra.jsonl")
    assert settings.database.url == "sqlite+aiosqlite:////var/orchestra/orchestra.db"


def test_relative_sqlite_url_is_anchored_at_the_project(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, database={"url": "sqlite:///data/x.db?mode=rw"})
    assert settings.database.url == f"sqlite:///{tmp_path / 'data' / 'x.db'}?mode=rw"
    memory = Settings(project_dir=tmp_path, database={"url": "sqlite+aiosqlite:///:memory:"})
    assert memory.database.url == "sqlite+aiosqlite:///:memory:"


def test_constructing_settings_ignores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_LOG_LEVEL", "ERROR")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    assert Settings(project_dir=tmp_path).log_level == "INFO"


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    with pytest.raises(ValidationError):
        settings.log_level = "DEBUG"  # type: ignore[misc]
    assert settings.model_copy(update={"log_level": "DEBUG"}).log_level == "DEBUG"


def test_mcp_server_needs_exactly_one_transport(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="set exactly one of"):
        Settings(project_dir=tmp_path, tools={"mcp_servers": [{"name": "x"}]})
    ok = Settings(
        project_dir=tmp_path,
        tools={"mcp_servers": [{"name": "git", "command": ["uvx", "mcp-server-git"]}]},
    )
    assert ok.tools.mcp_servers[0].command == ["uvx", "mcp-server-git"]


def test_model_deployment_keeps_extra_litellm_keys(tmp_path: Path) -> None:
    entry = {"model_name": "m", "litellm_params": {"model": "x/y"}, "tpm": 1000}
    settings = Settings(project_dir=tmp_path, models={"model_list": [entry]})
    assert settings.models.model_list == [entry]


def test_model_list_entry_needs_name_and_model(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs a 'model_name' string"):
        Settings(project_dir=tmp_path, models={"model_list": [{"litellm_params": {"model": "x"}}]})
    with pytest.raises(ValidationError, match="litellm_params needs a 'model' string"):
        Settings(project_dir=tmp_path, models={"model_list": [{"model_name": "m"}]})
