"""Layering, provenance and error reporting of load_settings / explain_settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.config import (
    SettingsError,
    TomlSyntaxError,
    explain_settings,
    load_settings,
)


def write_toml(project: Path, text: str) -> None:
    (project / "orchestra.toml").write_text(text, encoding="utf-8")


def sources(project: Path, **kwargs: object) -> dict[str, tuple[object, str]]:
    return {
        item.key: (item.value, item.source)
        for item in explain_settings(project, **kwargs)  # type: ignore[arg-type]
    }


# ------------------------------------------------------------------ precedence


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, env={})
    assert settings.log_level == "INFO"
    assert settings.engine.max_concurrency == 1024
    assert settings.project_dir == tmp_path.resolve()
    assert all(source == "default" for _, source in sources(tmp_path, env={}).values())


def test_toml_beats_default(tmp_path: Path) -> None:
    write_toml(tmp_path, "[engine]\nmax_concurrency = 4\n")
    assert load_settings(tmp_path, env={}).engine.max_concurrency == 4


def test_env_beats_toml(tmp_path: Path) -> None:
    write_toml(tmp_path, "[engine]\nmax_concurrency = 4\n")
    env = {"ORCHESTRA_ENGINE__MAX_CONCURRENCY": "5"}
    assert load_settings(tmp_path, env=env).engine.max_concurrency == 5


def test_env_beats_default(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, env={"ORCHESTRA_LOG_LEVEL": "warning"})
    assert settings.log_level == "WARNING"


def test_cli_beats_env(tmp_path: Path) -> None:
    env = {"ORCHESTRA_ENGINE__MAX_CONCURRENCY": "5"}
    settings = load_settings(tmp_path, {"engine.max_concurrency": 6}, env)
    assert settings.engine.max_concurrency == 6


def test_cli_beats_toml(tmp_path: Path) -> None:
    write_toml(tmp_path, 'log_level = "ERROR"\n')
    assert load_settings(tmp_path, {"log_level": "DEBUG"}, {}).log_level == "DEBUG"


def test_cli_none_means_flag_not_given(tmp_path: Path) -> None:
    write_toml(tmp_path, 'log_level = "ERROR"\n')
    assert load_settings(tmp_path, {"log_level": None}, {}).log_level == "ERROR"


def test_mappings_merge_key_by_key_across_layers(tmp_path: Path) -> None:
    write_toml(tmp_path, "[engine.agent_concurrency]\nLincoln = 2\nShaun = 1\n")
    env = {"ORCHESTRA_ENGINE__AGENT_CONCURRENCY__Shaun": "3"}
    settings = load_settings(tmp_path, {"engine.agent_concurrency.Writer": "4"}, env)
    assert settings.engine.agent_concurrency == {"Lincoln": 2, "Shaun": 3, "Writer": 4}


def test_lists_replace_whole(tmp_path: Path) -> None:
    write_toml(tmp_path, '[tools]\nshell_allowlist = ["ls", "git"]\n')
    env = {"ORCHESTRA_TOOLS__SHELL_ALLOWLIST": "cat, wc"}
    assert load_settings(tmp_path, env=env).tools.shell_allowlist == ["cat", "wc"]


def test_env_json_for_lists_of_tables(tmp_path: Path) -> None:
    env = {
        "ORCHESTRA_MODELS__MODEL_LIST": (
            '[{"model_name": "fast", "litellm_params": {"model": "openai/gpt-4o"}}]'
        )
    }
    settings = load_settings(tmp_path, env=env)
    assert settings.models.model_list == [
        {"model_name": "fast", "litellm_params": {"model": "openai/gpt-4o"}}
    ]


def test_database_url_alias_and_canonical_name(tmp_path: Path) -> None:
    alias = load_settings(tmp_path, env={"ORCHESTRA_DATABASE_URL": "sqlite+aiosqlite:///a.db"})
    assert alias.database.url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'a.db'}"
    both = {
        "ORCHESTRA_DATABASE_URL": "postgresql+asyncpg://h/alias",
        "ORCHESTRA_DATABASE__URL": "postgresql+asyncpg://h/canonical",
    }
    assert load_settings(tmp_path, env=both).database.url.endswith("/canonical")


def test_unrelated_orchestra_env_vars_are_ignored(tmp_path: Path) -> None:
    env = {"ORCHESTRA_PROJECT": "/elsewhere", "ORCHESTRA_PG_DSN": "x", "PATH": "/bin"}
    assert load_settings(tmp_path, env=env).log_level == "INFO"


def test_relative_toml_paths_resolve_against_project(tmp_path: Path) -> None:
    write_toml(tmp_path, 'state_dir = "state"\nlog_file = "logs/o.jsonl"\n')
    settings = load_settings(tmp_path, env={})
    project = tmp_path.resolve()
    assert settings.state_dir == project / "state"
    assert settings.log_file == project / "logs" / "o.jsonl"
    assert settings.workspaces.root == project / "state" / "workspaces"
    assert settings.database.url == f"sqlite+aiosqlite:///{project / 'state' / 'orchestra.db'}"


# ------------------------------------------------------------------ provenance


def test_provenance_names_toml_line_env_var_and_flag(tmp_path: Path) -> None:
    write_toml(
        tmp_path,
        '# settings\nlog_level = "DEBUG"\n\n[engine]\nlease_seconds = 10\n'
        "[engine.agent_concurrency]\nLincoln = 2\n"
        '[[models.model_list]]\nmodel_name = "fast"\nlitellm_params = {model = "openai/x"}\n',
    )
    found = sources(
        tmp_path,
        overrides={"server.port": 9000},
        env={"ORCHESTRA_TOOLS__CPU_SECONDS": "7"},
        flags={"server.port": "--port"},
    )
    assert found["log_level"] == ("DEBUG", "orchestra.toml:2")
    assert found["engine.lease_seconds"] == (10, "orchestra.toml:5")
    assert found["engine.agent_concurrency.Lincoln"] == (2, "orchestra.toml:7")
    assert found["models.model_list"][1] == "orchestra.toml:8"
    assert found["tools.cpu_seconds"] == (7, "env ORCHESTRA_TOOLS__CPU_SECONDS")
    assert found["server.port"] == (9000, "cli --port")
    assert found["server.host"] == ("127.0.0.1", "default")


def test_flag_name_defaults_to_dashed_key(tmp_path: Path) -> None:
    found = sources(tmp_path, overrides={"database.echo": True}, env={})
    assert found["database.echo"] == (True, "cli --database-echo")


def test_explain_masks_secrets_unless_revealed(tmp_path: Path) -> None:
    write_toml(
        tmp_path,
        '[database]\nurl = "postgresql+asyncpg://bob:hunter22@db/orchestra"\n'
        '[[models.model_list]]\nmodel_name = "m"\n'
        'litellm_params = {model = "openai/x", api_key = "sk-live-abcdef123456"}\n',
    )
    masked = sources(tmp_path, env={})
    assert masked["database.url"][0] == "postgresql+asyncpg://bob:***@db/orchestra"
    assert masked["models.model_list"][0] == [
        {"model_name": "m", "litellm_params": {"model": "openai/x", "api_key": "***"}}
    ]
    revealed = sources(tmp_path, env={}, reveal=True)
    assert revealed["database.url"][0] == "postgresql+asyncpg://bob:hunter22@db/orchestra"


# ------------------------------------------------------------------ errors


def single_issue(exc: pytest.ExceptionInfo[SettingsError]) -> str:
    assert len(exc.value.issues) == 1, exc.value
    return str(exc.value.issues[0])


def test_invalid_toml_value_names_key_value_line_and_allowed(tmp_path: Path) -> None:
    write_toml(tmp_path, '\n\nlog_level = "LOUD"\n')
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={})
    assert single_issue(exc) == (
        "log_level = 'LOUD' (orchestra.toml:3): expected one of DEBUG, INFO, WARNING, ERROR"
    )


def test_invalid_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={"ORCHESTRA_ENGINE__DEFAULT_ON_FAILURE": "explode"})
    assert single_issue(exc) == (
        "engine.default_on_failure = 'explode' (env ORCHESTRA_ENGINE__DEFAULT_ON_FAILURE): "
        "expected one of fail_fast, continue"
    )


def test_invalid_cli_value_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, {"server.port": "99999"}, {}, flags={"server.port": "--port"})
    assert single_issue(exc) == "server.port = '99999' (cli --port): expected a number <= 65535"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[engine]\nmax_concurrency = 0\n", "engine.max_concurrency = 0 (orchestra.toml:2): "),
        ('[server]\nport = "http"\n', "server.port = 'http' (orchestra.toml:2): expected a whole"),
        ("[database]\necho = 3\n", "database.echo = 3 (orchestra.toml:2): expected true or false"),
        (
            "[engine.agent_concurrency]\nShaun = 0\n",
            "engine.agent_concurrency.Shaun = 0 (orchestra.toml:2): expected a number >= 1",
        ),
        (
            '[[tools.mcp_servers]]\nname = "git"\n',
            "tools.mcp_servers.0 = {'name': 'git'} (orchestra.toml:1): set exactly one of",
        ),
    ],
)
def test_invalid_values_are_located(tmp_path: Path, toml: str, expected: str) -> None:
    write_toml(tmp_path, toml)
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={})
    assert single_issue(exc).startswith(expected)


def test_second_array_table_entry_is_located_on_its_own_line(tmp_path: Path) -> None:
    write_toml(
        tmp_path,
        '[[models.model_list]]\nmodel_name = "a"\nlitellm_params = {model = "x/a"}\n\n'
        '[[models.model_list]]\nmodel_name = "b"\nlitellm_params = {api_base = "http://h"}\n',
    )
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={})
    assert single_issue(exc).startswith(
        "models.model_list.1 = {'model_name': 'b', 'litellm_params': {'api_base': 'http://h'}} "
        "(orchestra.toml:5): litellm_params needs a 'model' string"
    )


def test_unknown_toml_key_suggests_the_closest(tmp_path: Path) -> None:
    write_toml(tmp_path, '[engine]\nmax_concurency = 3\n\n[databse]\nurl = "x"\n')
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={})
    first, second = (str(issue) for issue in exc.value.issues)
    assert first.startswith(
        "engine.max_concurency = 3 (orchestra.toml:2): unknown setting; "
        "did you mean 'max_concurrency'? valid keys in [engine]:"
    )
    assert second.startswith(
        "databse = {'url': 'x'} (orchestra.toml:4): unknown setting; did you mean 'database'?"
    )


def test_unknown_key_in_known_env_section_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={"ORCHESTRA_SERVER__PROT": "80"})
    assert single_issue(exc).startswith(
        "server.prot = '80' (env ORCHESTRA_SERVER__PROT): unknown setting; did you mean 'port'?"
    )


def test_unknown_cli_key_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, {"log_levl": "DEBUG"}, {}, flags={"log_levl": "--set log_levl"})
    assert single_issue(exc).startswith(
        "log_levl = 'DEBUG' (cli --set log_levl): unknown setting; did you mean 'log_level'?"
    )


def test_project_dir_cannot_come_from_the_file(tmp_path: Path) -> None:
    write_toml(tmp_path, 'project_dir = "/tmp"\n')
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={})
    assert "cannot be set here" in single_issue(exc)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    write_toml(tmp_path, 'log_level = "LOUD"\nbogus = 1\n')
    env = {"ORCHESTRA_SERVER__PORT": "0"}
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, {"engine.lease_seconds": "-1"}, env)
    keys = sorted(issue.key for issue in exc.value.issues)
    assert keys == ["bogus", "engine.lease_seconds", "log_level", "server.port"]
    assert str(exc.value).startswith("4 invalid settings:")


def test_bad_json_in_env_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={"ORCHESTRA_MODELS__ROUTER_SETTINGS": "{nope"})
    assert single_issue(exc).startswith(
        "models.router_settings = '{nope' (env ORCHESTRA_MODELS__ROUTER_SETTINGS): "
        "expected a JSON object"
    )


def test_secret_values_are_masked_in_errors(tmp_path: Path) -> None:
    write_toml(tmp_path, '[models]\nredis_url = 5\n[tools]\napi_key = "sk-verysecret123"\n')
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={})
    assert "sk-verysecret123" not in str(exc.value)
    assert "api_key = '***'" in str(exc.value)


def test_missing_models_file_is_an_error(tmp_path: Path) -> None:
    write_toml(tmp_path, '[models]\nmodels_file = "models.yaml"\n')
    with pytest.raises(SettingsError) as exc:
        load_settings(tmp_path, env={})
    assert "(orchestra.toml:2): expected an existing YAML file" in single_issue(exc)
    (tmp_path / "models.yaml").write_text("model_list: []\n", encoding="utf-8")
    settings = load_settings(tmp_path, env={})
    assert settings.models.models_file == tmp_path.resolve() / "models.yaml"


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    write_toml(tmp_path, 'log_level = "INFO"\n[engine]\nmax_concurrency = = 3\n')
    with pytest.raises(TomlSyntaxError) as exc:
        load_settings(tmp_path, env={})
    assert exc.value.line == 3
    assert str(exc.value).startswith(f"{tmp_path.resolve() / 'orchestra.toml'}:3:")
    assert "invalid TOML" in str(exc.value)


def test_unterminated_toml_names_a_line(tmp_path: Path) -> None:
    write_toml(tmp_path, 'log_level = "INFO"\n[engine\n')
    with pytest.raises(TomlSyntaxError) as exc:
        load_settings(tmp_path, env={})
    assert exc.value.line == 2
