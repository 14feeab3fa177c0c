"""``orchestra context`` as a user runs it: real processes, one SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunCli
from tests.tasks.project import write_team


def ok(result: object) -> str:
    assert getattr(result, "returncode", None) == 0, getattr(result, "stderr", result)
    return str(getattr(result, "stdout", ""))


def test_add_list_search_show_rm(orchestra: RunCli, tmp_path: Path) -> None:
    root = write_team(tmp_path / "team")
    data = '{"title": "CTO", "city": "Berlin"}'
    added = json.loads(
        ok(
            orchestra(
                "context", "add", "--job-id", "j1", "--job-type", "prospecting",
                "--data", data, "--tag", "crm", "--json", cwd=root,
            )
        )
    )  # fmt: skip
    assert added["context_data"] == {"title": "CTO", "city": "Berlin"}
    assert added["provenance"]["kind"] == "user" and added["provenance"]["by"] == "cli"
    ok(orchestra("context", "add", "--job-id", "j2", "--job-type", "billing",
                 "--data", '{"invoice": 7}', cwd=root))  # fmt: skip

    listed = json.loads(ok(orchestra("context", "list", "--json", cwd=root)))
    assert [e["job_id"] for e in listed] == ["j2", "j1"]
    typed = json.loads(
        ok(orchestra("context", "list", "--job-type", "prospecting", "--json", cwd=root))
    )
    assert [e["id"] for e in typed] == [added["id"]]
    found = json.loads(ok(orchestra("context", "search", "berlin cto", "--json", cwd=root)))
    assert [e["id"] for e in found] == [added["id"]] and found[0]["rank"] > 0
    table = ok(orchestra("context", "search", "berlin", cwd=root))
    assert "prospecting" in table and "user cli" in table

    shown = ok(orchestra("context", "show", str(added["id"]), cwd=root))
    assert "written by: user cli" in shown and '"city": "Berlin"' in shown
    assert json.loads(ok(orchestra("context", "rm", str(added["id"]), "--json", cwd=root))) == {
        "deleted": added["id"]
    }
    missing = orchestra("context", "show", str(added["id"]), cwd=root)
    assert missing.returncode == 2 and "no context entry" in missing.stderr


def test_bad_json_and_limits_are_clear_errors(orchestra: RunCli, tmp_path: Path) -> None:
    root = write_team(tmp_path / "team")
    bad = orchestra(
        "context", "add", "--job-id", "j", "--job-type", "t", "--data", "{city: Berlin}", cwd=root
    )
    assert bad.returncode == 2
    assert "not valid JSON" in bad.stderr and "line 1 column 2" in bad.stderr
    big = orchestra(
        "context", "add", "--job-id", "j", "--job-type", "t",
        "--data", json.dumps("x" * 70_000), cwd=root,
    )  # fmt: skip
    assert big.returncode == 2 and "limit" in big.stderr
    assert json.loads(ok(orchestra("context", "list", "--json", cwd=root))) == []
