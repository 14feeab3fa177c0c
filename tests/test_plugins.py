"""The typed plugin registry: entry points found lazily, clear errors for unknown names."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import TypeGuard

import pytest

from orchestra.engine.executor import LocalExecutor, executor_registry
from orchestra.errors import NotFoundMistake
from orchestra.llm.builtin_providers import LOCAL, SCRIPTED
from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import ScriptError, UnknownModel
from orchestra.llm.gateway import build_gateway
from orchestra.llm.providers import model_provider_registry
from orchestra.plugins import PluginFailed, Registry, UnknownPlugin
from tests.plugin_dist import install_plugin


def _is_int(obj: object) -> TypeGuard[int]:
    return isinstance(obj, int)


def numbers() -> Registry[int]:
    return Registry("number", "orchestra.test-numbers", _is_int, "an int")


def test_the_built_ins_are_entry_points_of_the_installed_package() -> None:
    # pyproject.toml declares them; a stale install (no `uv sync`) would fail here first.
    assert executor_registry().get("local") is LocalExecutor
    from orchestra.distributed.executor import CeleryExecutor

    assert executor_registry().get("celery") is CeleryExecutor
    providers = model_provider_registry()
    assert providers.get("scripted") is SCRIPTED
    assert providers.get("orchestra-local") is LOCAL


def test_an_unknown_name_lists_what_is_registered() -> None:
    with pytest.raises(UnknownPlugin) as caught:
        executor_registry().get("locl")
    message = str(caught.value)
    assert "no executor named 'locl'" in message
    assert "Did you mean local?" in message
    assert "Registered: celery, local" in message
    assert "orchestra.executors" in message
    assert isinstance(caught.value, NotFoundMistake)
    assert caught.value.code == "unknown_plugin"


def test_an_unknown_provider_lists_the_providers() -> None:
    with pytest.raises(UnknownPlugin, match=r"Registered: orchestra-local, scripted"):
        model_provider_registry().get("nope")


def test_a_plugin_distribution_on_the_path_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        tmp_path,
        monkeypatch,
        dist="orchestra-numbers",
        module="numbers_plugin_a",
        source="SEVEN = 7\n",
        entry_points="[orchestra.test-numbers]\nseven = numbers_plugin_a:SEVEN\n",
    )
    registry = numbers().add_entry_points()
    assert registry.names() == ["seven"]
    assert registry.get("seven") == 7


def test_entry_points_load_only_when_asked_for() -> None:
    registry = numbers().add_entry_points(
        [EntryPoint("broken", "no_such_module_xyz:thing", "orchestra.test-numbers")]
    )
    assert "broken" in registry  # listed without importing anything
    with pytest.raises(PluginFailed, match=r"number 'broken' .* failed to load: ModuleNotFound"):
        registry.get("broken")


def test_a_plugin_of_the_wrong_kind_is_refused() -> None:
    registry = numbers().add_entry_points(
        [EntryPoint("text", "os.path:sep", "orchestra.test-numbers")]
    )
    with pytest.raises(PluginFailed, match=r"is str; expected an int"):
        registry.get("text")
    loaded, problems = registry.load_all()
    assert loaded == {}
    assert len(problems) == 1


def test_two_distributions_claiming_one_name_is_an_error() -> None:
    with pytest.raises(PluginFailed, match=r"number 'n' is provided twice"):
        numbers().add_entry_points(
            [
                EntryPoint("n", "a:ONE", "orchestra.test-numbers"),
                EntryPoint("n", "b:TWO", "orchestra.test-numbers"),
            ]
        )


def test_registering_a_name_twice_needs_replace() -> None:
    registry = numbers()
    registry.register("one", 1)
    with pytest.raises(PluginFailed, match="registered twice"):
        registry.register("one", 2)
    registry.register("one", 2, replace=True)
    assert registry.get("one") == 2


async def test_a_model_string_with_an_unknown_provider_names_the_registered_ones() -> None:
    gateway = build_gateway(GatewayConfig(cache="off"))
    try:
        with pytest.raises(
            UnknownModel, match=r"Orchestra's model providers: orchestra-local/…, scripted/…"
        ):
            gateway.resolve("nope/x")
        with pytest.raises(ScriptError, match="no script named 'missing'"):
            gateway.resolve("scripted/missing")  # the provider's own check, through the registry
    finally:
        await gateway.close()
