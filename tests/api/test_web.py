"""The built web UI is served at / and an unbuilt checkout says how to build it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from orchestra.api.web import mount_web_ui


def test_built_ui_is_served_with_its_assets(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root>orchestra ui</div>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    app = FastAPI()

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, str]:
        return {"ok": "yes"}

    mount_web_ui(app, tmp_path)
    client = TestClient(app)
    assert "orchestra ui" in client.get("/").text
    assert client.get("/assets/app.js").text == "console.log(1)"
    assert client.get("/api/v1/ping").json() == {"ok": "yes"}


def test_unbuilt_ui_explains_how_to_build(tmp_path: Path) -> None:
    app = FastAPI()
    mount_web_ui(app, tmp_path)
    response = TestClient(app).get("/")
    assert response.status_code == 503
    assert "scripts/build-frontend.sh" in response.text
