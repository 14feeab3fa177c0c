"""Files over HTTP: upload to and download from a run's and a task's workspace, with roles,
size and type limits and path confinement, through the real app and store."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
async def run_id(client: httpx.AsyncClient, keys: Keys) -> str:
    started = await client.post(
        "/api/v1/runs",
        json={"workflow": "pair", "inputs": {"Topic": "files"}},
        headers=auth(keys.operator),
    )
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def base(run_id: str) -> str:
    return f"/api/v1/workspaces/runs/{run_id}/files"


async def test_upload_list_download_delete_round_trip(
    client: httpx.AsyncClient, keys: Keys, run_id: str, container: Container
) -> None:
    put = await client.put(
        base(run_id) + "/research/brief.md",
        content=b"# Brief\n\nNotes.\n",
        headers=auth(keys.operator),
    )
    assert put.status_code == 201, put.text
    assert put.json() == {"path": "research/brief.md", "size": 16, "content_type": "text/markdown"}
    on_disk = Path(container.settings.workspaces.root) / run_id / "research" / "brief.md"
    assert on_disk.read_bytes() == b"# Brief\n\nNotes.\n"
    image = await client.put(
        base(run_id) + "/output/chart.png", content=PNG, headers=auth(keys.operator)
    )
    assert image.status_code == 201, image.text

    listed = await client.get(base(run_id), headers=auth(keys.viewer))
    assert listed.status_code == 200
    paths = {f["path"]: f["size"] for f in listed.json()["files"]}
    assert paths["research/brief.md"] == 16 and paths["output/chart.png"] == len(PNG)

    got = await client.get(base(run_id) + "/output/chart.png", headers=auth(keys.viewer))
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == 'attachment; filename="chart.png"'
    assert got.headers["x-content-type-options"] == "nosniff"

    gone = await client.delete(base(run_id) + "/output/chart.png", headers=auth(keys.operator))
    assert gone.status_code == 204
    missing = await client.get(base(run_id) + "/output/chart.png", headers=auth(keys.viewer))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_roles_viewers_read_operators_write_and_no_key_is_refused(
    client: httpx.AsyncClient, keys: Keys, run_id: str
) -> None:
    denied = await client.put(base(run_id) + "/a.txt", content=b"x", headers=auth(keys.viewer))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    anonymous = await client.get(base(run_id))
    assert anonymous.status_code == 401
    no_delete = await client.delete(base(run_id) + "/a.txt", headers=auth(keys.viewer))
    assert no_delete.status_code == 403


async def test_paths_are_confined(
    client: httpx.AsyncClient, keys: Keys, run_id: str, container: Container, tmp_path: Path
) -> None:
    await client.put(base(run_id) + "/ok.txt", content=b"ok", headers=auth(keys.operator))
    root = Path(container.settings.workspaces.root) / run_id
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (root / "link.txt").symlink_to(secret)
    for path in ("..%2F..%2Fescape.txt", "%2Fetc%2Fpasswd.txt", ".git/hooks/x.txt", ".venv/x.txt"):
        put = await client.put(base(run_id) + "/" + path, content=b"x", headers=auth(keys.operator))
        assert put.status_code == 422, (path, put.text)
        assert put.json()["error"]["code"] == "bad_path"
    through_link = await client.get(base(run_id) + "/link.txt", headers=auth(keys.viewer))
    assert through_link.status_code == 422 and "symlink" in through_link.json()["error"]["message"]
    overwrite = await client.put(
        base(run_id) + "/link.txt", content=b"new", headers=auth(keys.operator)
    )
    assert overwrite.status_code == 201
    assert secret.read_text() == "outside"  # the link was replaced, its target untouched
    assert not list(tmp_path.parent.glob("escape.txt"))


async def test_size_and_type_are_checked_and_refusals_leave_nothing(
    client: httpx.AsyncClient, keys: Keys, run_id: str, container: Container
) -> None:
    root = Path(container.settings.workspaces.root) / run_id
    cases = [
        ("tool.exe", b"MZ...", 415, "may not be uploaded"),
        ("fake.png", b"<html>not a png</html>", 415, "does not start like a .png file"),
        ("notes.txt", b"\xff\xfe binary", 415, "is not UTF-8 text"),
    ]
    for name, content, status, message in cases:
        put = await client.put(
            base(run_id) + "/" + name, content=content, headers=auth(keys.operator)
        )
        assert put.status_code == status, (name, put.text)
        assert put.json()["error"]["code"] == "bad_type"
        assert message in put.json()["error"]["message"]
        assert not (root / name).exists()
    limit = int(container.settings.workspaces.upload_max_mb * 1_000_000)

    async def stream() -> object:  # no Content-Length: the limit holds while streaming
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536

    big = await client.put(base(run_id) + "/big.txt", content=stream(), headers=auth(keys.operator))
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    assert not (root / "big.txt").exists()
    assert not [p for p in root.iterdir() if p.name.endswith(".upload")]
    over_body_limit = b"b" * 2_000_000  # bigger than the API's 1 MB body limit, under 25 MB
    fine = await client.put(
        base(run_id) + "/large.txt", content=over_body_limit, headers=auth(keys.operator)
    )
    assert fine.status_code == 201, fine.text


async def test_unknown_runs_and_tasks_are_404(client: httpx.AsyncClient, keys: Keys) -> None:
    run = await client.get("/api/v1/workspaces/runs/nope/files", headers=auth(keys.viewer))
    assert run.status_code == 404
    task = await client.get("/api/v1/workspaces/tasks/nope/files", headers=auth(keys.viewer))
    assert task.status_code == 404
    kind = await client.get("/api/v1/workspaces/other/x/files", headers=auth(keys.viewer))
    assert kind.status_code == 422


async def test_a_task_without_an_agent_has_no_workspace_yet(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    created = await client.post(
        "/api/v1/tasks",
        json={"title": "Later", "capabilities": ["nobody-has-this"]},
        headers=auth(keys.operator),
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    listed = await client.get(
        f"/api/v1/workspaces/tasks/{task_id}/files", headers=auth(keys.viewer)
    )
    assert listed.status_code == 409
    assert listed.json()["error"]["code"] == "not_assigned"
