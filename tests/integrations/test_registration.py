"""The integrations are found through Orchestra's own ``orchestra.tools`` entry points,
like a third party's plugin, and load without importing their heavy libraries."""

from __future__ import annotations

import subprocess
import sys

from orchestra.tools.registry import ToolRegistry

INTEGRATION_TOOLS = {
    "browser.open", "browser.search", "browser.collect", "browser.click", "browser.screenshot",
    "sheet.read", "sheet.append", "sheet.update", "web.read", "research.brief",
}  # fmt: skip


def test_entry_points_register_every_integration_tool() -> None:
    registry = ToolRegistry()
    added = registry.load_plugins()
    assert registry.plugin_errors == []
    assert set(added) >= INTEGRATION_TOOLS
    for name in INTEGRATION_TOOLS:
        tool = registry.get(name)
        assert tool is not None and tool.source == "plugin:orchestra"
        assert tool.parameters["type"] == "object"  # a JSON schema the model reads


def test_registering_does_not_import_playwright_or_openpyxl() -> None:
    code = (
        "import sys; from orchestra.tools.registry import ToolRegistry; r = ToolRegistry(); "
        "r.load_plugins(); print(sorted(m for m in ('playwright', 'openpyxl', 'gspread', "
        "'trafilatura') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
