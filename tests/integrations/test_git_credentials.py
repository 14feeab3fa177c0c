"""How the token reaches an https remote: a local TLS server stands for the git host
and records what git sends. The token arrives as HTTP Basic credentials on that
host only, and is nowhere on disk or in the tool's output afterwards."""

from __future__ import annotations

import base64
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestra.integrations.github import register
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.secrets import EnvSecrets
from orchestra.tools.workspace import Workspace

TOKEN = "ghp_TopSecret123"


class GitHost(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append(
            {"path": self.path, "authorization": self.headers.get("Authorization", "")}
        )
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def files_containing(root: Path, needles: list[str]) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and any(n.encode() in path.read_bytes() for n in needles)
    ]


@pytest.fixture
def https_host(tmp_path: Path) -> Iterator[tuple[str, Path, list[dict[str, str]]]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    seen: list[dict[str, str]] = []
    handler = type("Host", (GitHost,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", cert, seen
    finally:
        server.shutdown()
        server.server_close()


async def test_the_token_goes_to_the_allowed_host_only_in_memory(
    tmp_path: Path, https_host: tuple[str, Path, list[dict[str, str]]]
) -> None:
    host, cert, seen = https_host
    registry = ToolRegistry()
    register(registry)
    ctx = ToolContext(
        workspace=Workspace.create(tmp_path / "ws", "run-1"),
        settings=ToolSettings(allow_private_network=True),
        plugins=PluginSettings(
            {"github": {"token": "os.environ/GITHUB_TOKEN", "hosts": [host], "ca_file": str(cert)}}
        ),
        secrets=EnvSecrets({"GITHUB_TOKEN": TOKEN}),
    )
    result = await registry.call("git.clone", {"url": f"https://{host}/acme/site.git"}, ctx)

    assert result.status == "error"  # the stand-in host has no repository
    assert seen, "git never reached the host"
    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert seen[0]["authorization"] == expected
    assert seen[0]["path"].startswith("/acme/site.git/info/refs")
    assert TOKEN not in result.content
    assert files_containing(tmp_path, [TOKEN, expected]) == []


async def test_without_private_network_the_host_is_refused_before_git_runs(
    tmp_path: Path, https_host: tuple[str, Path, list[dict[str, str]]]
) -> None:
    host, _cert, seen = https_host
    registry = ToolRegistry()
    register(registry)
    ctx = ToolContext(
        workspace=Workspace.create(tmp_path / "ws", "run-1"),
        plugins=PluginSettings({"github": {"token": "os.environ/T", "hosts": [host]}}),
        secrets=EnvSecrets({"T": TOKEN}),
    )
    result = await registry.call("git.clone", {"url": f"https://{host}/acme/site.git"}, ctx)
    assert result.status == "error"
    assert seen == []
