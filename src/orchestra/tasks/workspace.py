"""A task's workspace: ``<workspaces root>/<agent>/tasks/<task>/`` with ``src/``,
``output/`` and ``research/`` (seed 004), a ``README.md`` holding the title, the
description and a progress checklist that ``task.update`` ticks, and its own Python
virtual environment for ``python.install``.

Every attempt of a task is a run of its own, and tools open the workspace of their run
(``<workspaces root>/<run id>``). So that every attempt works on the same files, the
run's workspace is a link to the task's: the tools' confinement starts from the
resolved root (:class:`~orchestra.tools.workspace.Workspace` resolves it once), and
inside it no link is ever followed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

from orchestra.tasks.states import TaskStatus
from orchestra.tools.errors import ToolRuntimeError
from orchestra.tools.workspace import Workspace

CHECKLIST: tuple[TaskStatus, ...] = (
    TaskStatus.DESIGN,
    TaskStatus.BUILD,
    TaskStatus.TEST,
    TaskStatus.REVIEW,
)


def task_workspace_dir(root: Path, agent: str, task_id: str) -> Path:
    return root / agent / "tasks" / task_id


def open_task_workspace(
    root: Path, agent: str, task_id: str, *, title: str, description: str, run_id: str
) -> Workspace:
    """Create (or reopen) the task's workspace and point ``root/<run_id>`` at it."""
    folder = task_workspace_dir(root, agent, task_id)
    fresh = not (folder / "README.md").exists()
    workspace = Workspace.create(folder.parent, task_id, title=title)
    if fresh:
        checklist = "\n".join(f"- [ ] {phase.value}" for phase in CHECKLIST)
        (workspace.root / "README.md").write_text(
            f"# {title}\n\nTask `{task_id}`, taken by agent `{agent}`.\n\n"
            f"{description.strip() or '(no description)'}\n\n"
            f"## Checklist\n\n{checklist}\n\n## Progress\n\n",
            encoding="utf-8",
        )
    link = root / run_id
    if not link.is_symlink() and not link.exists():
        os.symlink(workspace.root, link, target_is_directory=True)
    return workspace


def share_workspace(root: Path, parent_run_id: str, run_id: str) -> Workspace:
    """Point ``root/<run_id>`` at the (resolved) workspace of run ``parent_run_id``:
    a delegated task's run works on its parent's files (created if the parent has
    none yet). Links never chain: the link's target is the resolved folder."""
    parent = Workspace.create(root, parent_run_id)
    link = root / run_id
    if not link.is_symlink() and not link.exists():
        os.symlink(parent.root, link, target_is_directory=True)
    return parent


def tick(workspace: Workspace, phase: TaskStatus, note: str) -> None:
    """Tick ``phase`` (and every earlier one) in the README's checklist; log the note."""
    readme = workspace.root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if phase in CHECKLIST:
        for done in CHECKLIST[: CHECKLIST.index(phase) + 1]:
            text = re.sub(
                rf"^- \[ \] {done.value}$", f"- [x] {done.value}", text, flags=re.MULTILINE
            )
        readme.write_text(text, encoding="utf-8")
    workspace.log_progress(f"{phase.value}: {note}" if note else phase.value)


async def ensure_task_venv(workspace: Workspace) -> Path:
    """The workspace's ``.venv``: made with ``uv venv`` (a second or two) when uv is
    found, else with ``python -m venv`` (slower, no uv needed)."""
    existing = workspace.venv_python()
    if existing is not None:
        return existing
    if shutil.which("uv") is not None:
        return await workspace.ensure_venv()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "venv",
        "--without-pip",
        str(workspace.venv_dir),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    created = workspace.venv_python()
    if process.returncode != 0 or created is None:
        raise ToolRuntimeError(f"python -m venv failed: {err.decode(errors='replace')[-800:]}")
    return created


def list_task_files(
    root: Path, agent: str, task_id: str, *, limit: int = 500
) -> list[tuple[str, int]]:
    """The files of a task's workspace as ``(relative path, size)``, its ``.venv`` left
    out; links are listed by name but never followed (the same rule as the tools)."""
    folder = task_workspace_dir(root, agent, task_id)
    if not folder.is_dir():
        return []
    found: list[tuple[str, int]] = []
    for parent, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not (parent == str(folder) and d == ".venv"))
        for name in sorted(files):
            path = Path(parent) / name
            size = path.lstat().st_size
            found.append((path.relative_to(folder).as_posix(), size))
            if len(found) >= limit:
                return found
    return found
