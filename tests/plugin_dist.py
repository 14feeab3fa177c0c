"""Install a tiny plugin distribution for a test: a module and a ``*.dist-info`` on sys.path.

``importlib.metadata`` finds it exactly as it finds a wheel installed by pip, so the
registries see its entry points through the same code path as a real plugin's.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def install_plugin(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    dist: str,
    module: str,
    source: str,
    entry_points: str,
) -> None:
    """Write ``module``.py and ``dist``'s metadata under ``root`` and put ``root`` on sys.path.

    ``root`` leaves sys.path when the test ends; give each test its own module name.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    # The folder's name up to the first '-' is the distribution's (PEP 427 escaping):
    # "orchestra-x-1.0.dist-info" would shadow Orchestra's own metadata.
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    monkeypatch.syspath_prepend(str(root))
