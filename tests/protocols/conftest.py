"""A real ``orchestra serve`` of the exposed test project, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.process import Server, free_port
from tests.api.served import admin_key
from tests.protocols.project import exposed_project


@dataclass
class Served:
    server: Server
    admin: str
    viewer: str

    @property
    def base(self) -> str:
        return self.server.base


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = exposed_project(tmp_path_factory.mktemp("exposed"))
    server = Server(root, free_port())
    try:
        server.wait_ready()
        admin = admin_key(server.output())
        created = httpx.post(
            f"{server.base}/api/v1/keys",
            json={"name": "reader", "role": "viewer"},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        yield Served(server, admin, created.json()["key"])
    finally:
        server.stop()


def project_of(served: Served) -> Path:
    return served.server.log.parent
