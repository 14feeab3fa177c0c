"""``orchestra tasks`` and ``orchestra agents`` as a user runs them: real processes, one
SQLite database, the scripted echo model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunCli
from tests.tasks.project import write_team


def ok(result: object) -> str:
    assert getattr(result, "returncode", None) == 0, getattr(result, "stderr", result)
    return str(getattr(result, "stdout", ""))


def test_tasks_are_created_worked_through_and_shown(orchestra: RunCli, tmp_path: Path) -> None:
    root = write_team(tmp_path / "team")
    created = json.loads(
        ok(
            orchestra(
                "tasks",
                "create",
                "--title",
                "Fix the parser",
                "--capability",
                "python",
                "--complexity",
                "3",
                "--json",
                cwd=root,
            )
        )
    )
    assert created["created"] is True
    task_id = created["task"]["id"]
    again = json.loads(
        ok(
            orchestra(
                "tasks",
                "create",
                "--title",
                "Doc",
                "--capability",
                "docs",
                "--idempotency-key",
                "k",
                "--json",
                cwd=root,
            )
        )
    )
    same = json.loads(
        ok(
            orchestra(
                "tasks",
                "create",
                "--title",
                "Doc again",
                "--idempotency-key",
                "k",
                "--json",
                cwd=root,
            )
        )
    )
    assert same["created"] is False and same["task"]["id"] == again["task"]["id"]
    ok(orchestra("tasks", "create", "--title", "Sheets", "--capability", "sheets", cwd=root))

    listed = json.loads(ok(orchestra("tasks", "list", "--json", cwd=root)))
    assert {t["status"] for t in listed} == {"queued"} and len(listed) == 3

    worked = ok(orchestra("tasks", "work", "--until-idle", cwd=root, timeout=300))
    assert f"task {task_id} complete (coder)" in worked

    shown = json.loads(ok(orchestra("tasks", "show", task_id[:10], "--json", cwd=root)))
    assert shown["task"]["status"] == "complete"
    assert shown["task"]["agent"] == "coder" and shown["task"]["run_id"]
    assert [u["target"] for u in shown["updates"] if u["target"]][:2] == ["queued", "assigned"]
    run = json.loads(ok(orchestra("runs", "show", shown["task"]["run_id"], "--json", cwd=root)))
    assert run["status"] == "succeeded"
    assert "Fix the parser" in json.dumps(run["steps"]["task"]["outputs"])

    waiting = json.loads(ok(orchestra("tasks", "list", "--status", "queued", "--json", cwd=root)))
    assert [t["title"] for t in waiting] == ["Sheets"]
    assert "sheets" in waiting[0]["wait_reason"]
    assert "sheets" in ok(orchestra("tasks", "list", cwd=root))

    ok(orchestra("tasks", "cancel", waiting[0]["id"], cwd=root))
    assert (
        json.loads(ok(orchestra("tasks", "show", waiting[0]["id"], "--json", cwd=root)))["task"][
            "status"
        ]
        == "cancelled"
    )
    ok(orchestra("tasks", "retry", waiting[0]["id"], cwd=root))
    refused = orchestra("tasks", "retry", task_id, cwd=root)
    assert refused.returncode == 2 and "complete" in refused.stderr

    agent = json.loads(ok(orchestra("agents", "show", "coder", "--json", cwd=root)))
    assert agent["agent"]["state"] == "idle"
    assert [s["task_id"] for s in agent["sessions"]] == [task_id]
    assert agent["succeeded"] == 1 and agent["ended"] == 1


def test_a_paused_agent_takes_nothing_and_retired_ones_leave_the_list(
    orchestra: RunCli, tmp_path: Path
) -> None:
    root = write_team(tmp_path / "team")
    assert "paused" in ok(orchestra("agents", "pause", "writer", "--reason", "on leave", cwd=root))
    ok(orchestra("tasks", "create", "--title", "Docs", "--capability", "docs", cwd=root))
    ok(orchestra("tasks", "work", "--until-idle", cwd=root, timeout=300))
    queued = json.loads(ok(orchestra("tasks", "list", "--json", cwd=root)))
    assert queued[0]["status"] == "queued" and queued[0]["wait_reason"]

    shown = json.loads(ok(orchestra("agents", "show", "writer", "--json", cwd=root)))
    assert shown["transitions"][-1]["reason"] == "on leave"
    assert "idle" in ok(orchestra("agents", "resume", "writer", cwd=root))
    ok(orchestra("tasks", "work", "--until-idle", cwd=root, timeout=300))
    assert json.loads(ok(orchestra("tasks", "list", "--json", cwd=root)))[0]["status"] == "complete"

    ok(orchestra("agents", "retire", "broken", cwd=root))
    names = [a["name"] for a in json.loads(ok(orchestra("agents", "list", "--json", cwd=root)))]
    assert "broken" not in names and "writer" in names
    illegal = orchestra("agents", "pause", "broken", cwd=root)
    assert illegal.returncode == 2 and "retired" in illegal.stderr
    unknown = orchestra("agents", "show", "nobody", cwd=root)
    assert unknown.returncode == 2 and "nobody" in unknown.stderr
