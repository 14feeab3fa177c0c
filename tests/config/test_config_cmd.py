"""`orchestra config show` through the installed executable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ORCHESTRA = Path(sys.executable).parent / "orchestra"

TOML = """\
log_level = "DEBUG"

[database]
url = "postgresql+asyncpg://bob:hunter22@db.local/orchestra"

[[models.model_list]]
model_name = "fast"
litellm_params = { model = "openai/gpt-4o", api_key = "sk-live-abcdef123456" }
"""


def run(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
    base.update({"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})
    return subprocess.run(
        [str(ORCHESTRA), "config", "show", "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=60,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "orchestra.toml").write_text(TOML, encoding="utf-8")
    return tmp_path


def test_json_lists_values_with_sources_and_masks_secrets(project: Path) -> None:
    result = run(
        project,
        "--json",
        "--set",
        "engine.max_concurrency=3",
        env={"ORCHESTRA_SERVER__PORT": "9100"},
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    settings = document["settings"]
    assert document["project_dir"] == str(project.resolve())
    assert settings["log_level"] == {"value": "DEBUG", "source": "orchestra.toml:1"}
    assert settings["database.url"] == {
        "value": "postgresql+asyncpg://bob:***@db.local/orchestra",
        "source": "orchestra.toml:4",
    }
    assert settings["models.model_list"]["value"][0]["litellm_params"]["api_key"] == "***"
    assert settings["server.port"] == {"value": 9100, "source": "env ORCHESTRA_SERVER__PORT"}
    assert settings["engine.max_concurrency"] == {
        "value": 3,
        "source": "cli --set engine.max_concurrency",
    }
    assert settings["server.host"] == {"value": "127.0.0.1", "source": "default"}
    assert "hunter22" not in result.stdout
    assert "sk-live" not in result.stdout


def test_table_shows_keys_values_sources_without_secrets(project: Path) -> None:
    result = run(project, "--log-level", "warning")
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "WARNING" in rows["log_level"]
    assert "cli --log-level" in rows["log_level"]
    assert "orchestra.toml:4" in rows["database.url"]
    assert "bob:***@db.local" in rows["database.url"]
    assert "default" in rows["tools.cpu_seconds"]
    assert "hunter22" not in result.stdout
    assert "sk-live" not in result.stdout


def test_reveal_shows_secrets(project: Path) -> None:
    result = run(project, "--json", "--reveal")
    assert json.loads(result.stdout)["settings"]["database.url"]["value"].startswith(
        "postgresql+asyncpg://bob:hunter22@"
    )


def test_invalid_value_exits_1_with_located_message(project: Path) -> None:
    result = run(project, "--json", env={"ORCHESTRA_LOG_LEVEL": "LOUD"})
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        "log_level = 'LOUD' (env ORCHESTRA_LOG_LEVEL): expected one of DEBUG, INFO, WARNING, ERROR"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_malformed_toml_exits_1_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "orchestra.toml").write_text('log_level = "INFO"\nport 80\n', encoding="utf-8")
    result = run(tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path.resolve() / 'orchestra.toml'}:2:" in result.stderr
    assert "Traceback" not in result.stderr


def test_set_without_equals_is_a_usage_error(project: Path) -> None:
    result = run(project, "--set", "engine.max_concurrency")
    assert result.returncode == 2
    assert "is not KEY=VALUE" in result.stderr
