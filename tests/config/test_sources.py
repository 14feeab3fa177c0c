"""Reading layers: TOML key lines, env var names, text decoding."""

from __future__ import annotations

import pytest

from orchestra.config.settings import ToolsSettings
from orchestra.config.sources import decode_text, env_name, read_env_layer, toml_key_lines


def test_toml_key_lines_tracks_tables_dotted_keys_and_arrays_of_tables() -> None:
    text = (
        'log_level = "INFO"  # comment\n'  # 1
        "[engine]\n"  # 2
        "agent_concurrency.Lincoln = 2\n"  # 3
        "[[models.model_list]]\n"  # 4
        'model_name = "a"\n'  # 5
        "[[models.model_list]]\n"  # 6
        'model_name = "b"\n'  # 7
        '["tools"]\n'  # 8
        "shell_allowlist = [\n"  # 9
        '  "ls", "x = y",\n'  # 10
        "]\n"  # 11
        "output_limit_chars = 5\n"  # 12
        'note = """\n'  # 13
        "fake = 1\n"  # 14
        '"""\n'  # 15
        "cpu_seconds = 3\n"  # 16
    )
    lines = toml_key_lines(text)
    assert lines[("log_level",)] == 1
    assert lines[("engine", "agent_concurrency", "Lincoln")] == 3
    assert lines[("models", "model_list")] == 4
    assert lines[("models", "model_list", "0", "model_name")] == 5
    assert lines[("models", "model_list", "1")] == 6
    assert lines[("models", "model_list", "1", "model_name")] == 7
    assert lines[("tools", "shell_allowlist")] == 9
    assert lines[("tools", "output_limit_chars")] == 12
    assert ("tools", "fake") not in lines
    assert ("tools", '  "ls", "x') not in lines
    assert lines[("tools", "cpu_seconds")] == 16


def test_env_names() -> None:
    assert env_name(("log_level",)) == "ORCHESTRA_LOG_LEVEL"
    assert env_name(("database", "url")) == "ORCHESTRA_DATABASE__URL"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ls, cat ,git", ["ls", "cat", "git"]),
        ('["a b", "c"]', ["a b", "c"]),
        ("", []),
    ],
)
def test_list_text(text: str, expected: list[str]) -> None:
    assert decode_text(text, ToolsSettings.model_fields["shell_allowlist"]) == expected


def test_bad_json_list_says_what_was_expected() -> None:
    with pytest.raises(ValueError, match="expected a JSON list"):
        decode_text("[oops", ToolsSettings.model_fields["shell_allowlist"])


def test_whole_section_from_one_env_var() -> None:
    layer = read_env_layer({"ORCHESTRA_SERVER": '{"port": 9001, "host": "0.0.0.0"}'})
    assert {path: a.value for path, a in layer.values.items()} == {
        ("server", "port"): 9001,
        ("server", "host"): "0.0.0.0",
    }
    assert layer.values[("server", "port")].origin == "env ORCHESTRA_SERVER"


def test_env_field_names_are_case_insensitive_mapping_keys_keep_case() -> None:
    layer = read_env_layer({"ORCHESTRA_Engine__Model_Concurrency__GPT4": "2"})
    assert list(layer.values) == [("engine", "model_concurrency", "GPT4")]
