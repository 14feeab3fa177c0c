"""Errors of every layer answer by family, never as a bare 500 (issue 12, points 3 and 8).

The families of ``orchestra.errors`` decide the status: not found 404, conflict 409,
other user mistakes 422, retryable runtime failures 503 with ``Retry-After``, other
runtime failures 500 with the error's JSON envelope. The storage test serves a real
app on a SQLite database opened read-only, so every write fails in SQLite itself.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orchestra.api.app import create_app
from orchestra.api.deps import ApiOptions
from orchestra.api.errors import translate
from orchestra.engine.errors import ExpressionError, IllegalTransition, RunBusy
from orchestra.errors import OrchestraError, RuntimeFailure
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.store.errors import DatabaseUnavailable, DatabaseUrlError
from tests.api.live import serve
from tests.api.project import scripts, settings_for, write_project


class _NewFailure(RuntimeFailure):
    """An error class the API has never heard of: its family alone must decide."""

    code = "new_failure"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (DatabaseUnavailable("database is locked"), 503, "unavailable"),
        (IllegalTransition("run", "r1", "succeeded", "running"), 409, "conflict"),
        (
            ExpressionError("unexpected token", expression="${A} ==", position=7),
            422,
            "validation_error",
        ),
        (RunBusy("driven by another process"), 409, "conflict"),
        (DatabaseUrlError("mysql://x"), 422, "validation_error"),
        (_NewFailure("it broke"), 500, "failed"),
    ],
)
def test_each_family_has_its_status(error: OrchestraError, status: int, code: str) -> None:
    mapped = translate(error)
    assert mapped is not None
    assert (mapped.status, mapped.code) == (status, code)
    assert mapped.message == str(error)
    assert mapped.details["error"] == error.code
    if status == 503:
        assert int(mapped.headers["Retry-After"]) >= 1


async def test_a_read_only_database_answers_503_with_retry_after(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project")
    first = await Container.open(settings_for(project), ContainerOptions(scripts=scripts()))
    _, key = await first.keys.create("admin", "admin")
    await first.close()
    database = project / ".orchestra" / "orchestra.db"
    assert database.is_file()
    read_only = settings_for(
        project, database={"url": f"sqlite:///file:{database}?mode=ro&uri=true"}
    )
    container = await Container.open(read_only, ContainerOptions(scripts=scripts()))
    try:
        app = create_app(read_only, container=container, options=ApiOptions())
        async with serve(app) as address, httpx.AsyncClient(base_url=f"http://{address}") as http:
            headers = {"Authorization": f"Bearer {key}"}
            # Even a read writes (the key's last use), so every authenticated call fails.
            for _ in range(2):  # the second on the same connection: an answer, not a crash
                started = await http.post(
                    "/api/v1/runs",
                    json={"workflow": "pair", "inputs": {"Topic": "x"}},
                    headers=headers,
                )
                assert started.status_code == 503, started.text
                assert started.headers["Retry-After"].isdigit()
                body = started.json()["error"]
                assert body["code"] == "unavailable"
                assert "readonly" in body["message"], body
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await container.close()
