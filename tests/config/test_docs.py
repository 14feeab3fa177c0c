"""docs/configuration.md documents every setting, and its example is valid."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from orchestra.config import Settings, load_settings
from orchestra.config.sources import Kind, env_name, kind_of, section_model, settable_fields

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"


def all_keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    for name, info in settable_fields(model).items():
        path = (*prefix, name)
        if kind_of(info) is Kind.SECTION:
            keys.extend(all_keys(section_model(info), path))
        else:
            keys.append(path)
    return keys


def test_every_key_and_env_var_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        ".".join(path)
        for path in all_keys(Settings)
        if f"| `{'.'.join(path)}` |" not in text or f"`{env_name(path)}`" not in text
    ]
    assert missing == []


def test_the_complete_example_loads(tmp_path: Path) -> None:
    example = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert example is not None
    (tmp_path / "orchestra.toml").write_text(example.group(1), encoding="utf-8")
    settings = load_settings(tmp_path, env={})
    assert settings.engine.agent_concurrency == {"Lincoln": 2, "Shaun": 1}
    assert [d["model_name"] for d in settings.models.model_list] == ["fast", "fast", "smart"]
