"""The composition root hands the [engine] section to the engine whole."""

from __future__ import annotations

from pathlib import Path

from orchestra.config import load_settings
from orchestra.runtime.container import engine_settings


def test_per_agent_and_per_model_caps_reach_the_engine(tmp_path: Path) -> None:
    (tmp_path / "orchestra.toml").write_text(
        "[engine]\nmax_concurrency = 7\nlease_seconds = 12\n"
        "agent_concurrency = { lincoln = 1 }\nmodel_concurrency = { local = 2 }\n"
    )
    adapted = engine_settings(load_settings(tmp_path, env={}))
    assert adapted.max_concurrency == 7
    assert adapted.lease_s == 12
    assert adapted.agent_concurrency == {"lincoln": 1}
    assert adapted.model_concurrency == {"local": 2}


def test_no_tables_means_no_per_name_caps(tmp_path: Path) -> None:
    adapted = engine_settings(load_settings(tmp_path, env={}))
    assert adapted.agent_concurrency is None
    assert adapted.model_concurrency is None
