"""``orchestra messages`` as a user runs it: real processes on one SQLite project."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from orchestra.config import load_settings
from orchestra.runtime.messaging import build_bus
from orchestra.store.database import connect
from tests.cli.conftest import RunCli
from tests.tasks.project import write_team


def ok(result: object) -> str:
    assert getattr(result, "returncode", None) == 0, getattr(result, "stderr", result)
    return str(getattr(result, "stdout", ""))


async def _bury_one(root: Path) -> None:
    """A subscriber that refuses a message for good: one dead letter."""
    settings = load_settings(root, env={})
    database = await connect(settings.database.url)
    bus = build_bus(settings, database)
    await bus.start()
    try:
        await bus.subscribe("audit", agent="ops", patterns=["review.#"], replay_since=0.0)
        (delivery,) = await bus.fetch(["audit"], wait_s=10)
        await bus.nack(delivery, reason="cannot parse", dead=True)
    finally:
        await bus.aclose()
        await database.aclose()


def test_publish_tail_and_dead_letters(orchestra: RunCli, tmp_path: Path) -> None:
    root = write_team(tmp_path / "team")
    sent = json.loads(
        ok(
            orchestra(
                "messages", "publish", "review.done", "--body", '{"ok": 1}', "--json", cwd=root
            )
        )
    )
    assert sent["created"] is True and sent["message"]["topic"] == "review.done"
    ok(orchestra("messages", "send", "ada", "--body", '"hi"', cwd=root))
    tail = json.loads(ok(orchestra("messages", "tail", "--json", cwd=root)))
    assert [(m["topic"], m["to"], m["body"]) for m in tail] == [
        ("review.done", None, {"ok": 1}),
        (None, "ada", "hi"),
    ]
    asyncio.run(_bury_one(root))
    letters = json.loads(ok(orchestra("messages", "dlq", "list", "--json", cwd=root)))
    assert [(x["subscription"], x["reason"]) for x in letters] == [("audit", "cannot parse")]
    shown = json.loads(ok(orchestra("messages", "dlq", "show", letters[0]["id"], cwd=root)))
    assert shown["message"]["body"] == {"ok": 1}
    assert json.loads(ok(orchestra("messages", "dlq", "purge", "--json", cwd=root))) == {
        "purged": 1
    }
    bad = orchestra("messages", "publish", "review.*", cwd=root)
    assert bad.returncode == 2 and "not a valid topic" in bad.stderr
