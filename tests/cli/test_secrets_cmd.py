"""``orchestra secrets``: set from stdin, list names only, rotate the key, delete."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from orchestra.tools.secret_store import EncryptedSecrets
from tests.api.project import write_project
from tests.cli.conftest import ORCHESTRA


def _secrets(root: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ORCHESTRA), "secrets", *args, "--project", str(root)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def test_set_list_rotate_delete(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    stored = _secrets(root, "set", "PEER_TOKEN", stdin="tok-123\n")
    assert stored.returncode == 0, stored.stderr
    assert "tok-123" not in stored.stdout
    state = root / ".orchestra"
    assert stat.S_IMODE((state / "secrets.key").stat().st_mode) == 0o600
    assert "tok-123" not in (state / "secrets.json").read_text()

    listed = _secrets(root, "list")
    assert listed.stdout.split() == ["PEER_TOKEN"]

    old_key = (state / "secrets.key").read_text()
    rotated = _secrets(root, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 1 secret" in rotated.stdout
    assert (state / "secrets.key").read_text() != old_key
    assert EncryptedSecrets.open(state, env={}).get("PEER_TOKEN") == "tok-123"

    assert _secrets(root, "delete", "PEER_TOKEN").returncode == 0
    missing = _secrets(root, "delete", "PEER_TOKEN")
    assert missing.returncode == 1
    assert "secrets list" in missing.stderr
