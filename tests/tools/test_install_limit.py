"""``python.install``'s size limit: a package that grows the workspace venv past
``tools.venv_max_mb`` is uninstalled again and refused. The package is a wheel built
here and installed with uv offline from a local folder (no network)."""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from orchestra.tools.errors import ToolRuntimeError
from orchestra.tools.workspace import Workspace


def tiny_wheel(folder: Path, payload_bytes: int) -> Path:
    """``bulky-1.0`` whose one data file holds ``payload_bytes`` random bytes."""
    files = {
        "bulky/__init__.py": b"",
        "bulky/blob.bin": os.urandom(payload_bytes),
        "bulky-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: bulky\nVersion: 1.0\n",
        "bulky-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("bulky-1.0.dist-info/RECORD,,")
    path = folder / "bulky-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("bulky-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return path


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    tiny_wheel(wheels, 3_000_000)
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_OFFLINE", "1")
    return wheels


async def test_an_install_over_the_limit_is_undone_and_refused(
    tmp_path: Path, local_index: Path
) -> None:
    workspace = Workspace.create(tmp_path / "ws", "w1")
    python = await workspace.ensure_venv()
    empty_mb = (
        sum(
            os.lstat(os.path.join(p, f)).st_size
            for p, _d, fs in os.walk(workspace.venv_dir)
            for f in fs
        )
        / 1e6
    )
    with pytest.raises(ToolRuntimeError, match=r"over the .* MB limit"):
        await workspace.install(["bulky"], ["bulky"], max_mb=empty_mb + 1)
    site = next(iter(workspace.venv_dir.glob("lib/python*/site-packages")))
    assert not (site / "bulky").exists()  # uninstalled again
    await workspace.install(["bulky"], ["bulky"], max_mb=empty_mb + 10)
    assert (site / "bulky" / "blob.bin").stat().st_size == 3_000_000
    assert python.exists()
