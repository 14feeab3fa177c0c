"""Each command imports only what it uses (issue 14.1): checked on ``sys.modules`` at exit.

Figures are in ``benchmarks/startup.py``; these tests keep the heavy imports out.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli.project import make_project

PROBE = Path(__file__).with_name("import_probe.py")
ROOT = Path(__file__).parents[2]
STORE = {"orchestra.store.database", "sqlalchemy"}
ALEMBIC = {"alembic"}
MODELS = {"litellm", "llama_cpp", "openai"}
SERVER = {"fastapi", "uvicorn"}
MCP = {"mcp"}


def probe(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = project.parent / "modules.txt"
    done = subprocess.run(
        [sys.executable, str(PROBE), str(out), *args],
        cwd=project,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return done, set(out.read_text().split())


def tops(modules: set[str]) -> set[str]:
    return modules | {name.split(".")[0] for name in modules}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p")


def test_help_imports_no_store_models_or_server(project: Path) -> None:
    done, modules = probe(project, "--help")
    assert done.returncode == 0, done.stderr
    assert "runs" in done.stdout
    assert not tops(modules) & (STORE | ALEMBIC | MODELS | SERVER | MCP | {"pydantic"})


@pytest.mark.parametrize(
    "args",
    [("validate",), ("show", "workflow", "note"), ("show", "agents"), ("config", "show")],
)
def test_definition_commands_import_no_store_or_models(project: Path, args: tuple[str]) -> None:
    done, modules = probe(project, *args)
    assert done.returncode == 0, done.stderr
    assert not tops(modules) & (STORE | ALEMBIC | MODELS | SERVER | MCP)


def test_store_commands_import_alembic_only_when_the_schema_is_behind(project: Path) -> None:
    first, modules = probe(project, "runs", "list")  # a new database: migrations run
    assert first.returncode == 0, first.stderr
    assert "alembic" in tops(modules)
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "orchestra"),
            "run",
            "note",
            "-i",
            "Topic=owls",
            "--json",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout.splitlines()[0])["run_id"]
    for args in (
        ("runs", "list"),
        ("runs", "show", run_id),
        ("runs", "events", run_id),
        ("keys", "list"),
    ):
        shown, modules = probe(project, *args)
        assert shown.returncode == 0, shown.stderr
        assert "sqlalchemy" in tops(modules)  # it did read the database
        assert not tops(modules) & (ALEMBIC | MODELS | SERVER | MCP), args


def test_a_scripted_run_finishes_while_litellm_is_still_importing(
    project: Path, tmp_path: Path
) -> None:
    """With ``import litellm`` held back, a run on an in-process (scripted) model is
    created, runs its step and succeeds: in-process models never wait for LiteLLM
    (docs/models.md, "How a call is made"); its background import goes on unawaited."""
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    runner = subprocess.Popen(
        [
            sys.executable,
            str(PROBE),
            str(tmp_path / "modules.txt"),
            "run",
            "note",
            "-i",
            "Topic=owls",
            "--json",
        ],
        cwd=project,
        env={**os.environ, "ORCHESTRA_PROBE_GATE": str(gate)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert runner.stdout is not None
        events = []
        while not events or events[-1]["type"] != "run_finished":
            line = runner.stdout.readline()
            assert line, runner.stderr.read() if runner.stderr else ""
            events.append(json.loads(line))
        assert events[-1]["content"]["status"] == "succeeded"
        release(gate)  # let the background import (if one waits) finish, then exit
        _, errors = runner.communicate(timeout=120)
    finally:
        runner.kill()
    assert runner.returncode == 0, errors


def release(gate: Path) -> None:
    """Open the probe's gate for an import waiting on it; none waiting is fine too."""
    try:
        descriptor = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:  # ENXIO: nobody reads the gate, nothing is held back
        if error.errno != errno.ENXIO:
            raise
        return
    with os.fdopen(descriptor, "w") as opened:
        opened.write("go\n")


def wait_ready(server: subprocess.Popen[bytes], base: str) -> None:
    """Poll /readyz (database open, runs accepted), as tests/api/process.py does."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "serve exited early"
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail("serve did not get ready")


def test_serve_answers_healthz_before_litellm_is_imported(project: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            str(PROBE),
            str(tmp_path / "modules.txt"),
            "serve",
            "--insecure-local",
            "--port",
            str(port),
        ],
        cwd=project,
        env={**os.environ, "ORCHESTRA_PROBE_GATE": str(gate)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_ready(server, f"http://127.0.0.1:{port}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as answer:
            assert answer.status == 200
    finally:
        server.terminate()
        server.wait(timeout=60)
    # Nothing ever opened the gate: LiteLLM's import was still held back while serve answered.
    assert "fastapi" in (tmp_path / "modules.txt").read_text().split()
