"""The integration seams of a tool's context: its plugin's typed table, secrets, and one
HTTP transport (the network guard by default; an injected one in tests).

The guarded client talks to a real HTTP server on 127.0.0.1 (the one the http.fetch
tests use); the injected transport is a respx router, standing for a third-party API.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import BaseModel

from orchestra.config import load_settings
from orchestra.tools.errors import BlockedAddressError, MissingSecretError, PluginSettingsError
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import Permission, ToolContext, ToolOutput, tool
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.secrets import EnvSecrets
from tests.tools.builtin.test_http_fetch import server

__all__ = ["server"]


class GithubSettings(BaseModel):
    token: str
    default_org: str = "octo"
    per_page: int = 30


class RepoArgs(BaseModel):
    name: str


@tool("github.repo", permission=Permission.NETWORK)
async def github_repo(args: RepoArgs, ctx: ToolContext) -> ToolOutput:
    """What an integration looks like: its table, its secret, its HTTP calls through ctx."""
    settings = ctx.plugin_settings("github", GithubSettings)
    async with ctx.http_client(base_url="https://api.github.test") as client:
        response = await client.get(
            f"/repos/{settings.default_org}/{args.name}",
            headers={"Authorization": f"Bearer {settings.token}"},
        )
    return ToolOutput(text=response.text, data=response.json())


def project_tables(tmp_path: Path) -> PluginSettings:
    (tmp_path / "orchestra.toml").write_text(
        '[plugins.github]\ntoken = "os.environ/GITHUB_TOKEN"\ndefault_org = "acme"\n'
    )
    return PluginSettings(load_settings(tmp_path, env={}).plugins)


def test_a_plugin_reads_its_table_typed_with_secrets_resolved(tmp_path: Path) -> None:
    plugins = project_tables(tmp_path)
    settings = plugins.section("github", GithubSettings, EnvSecrets({"GITHUB_TOKEN": "t0k"}))
    assert settings == GithubSettings(token="t0k", default_org="acme")
    assert plugins.raw("github")["token"] == "os.environ/GITHUB_TOKEN"  # never stored resolved
    with pytest.raises(MissingSecretError, match="set the environment variable GITHUB_TOKEN"):
        plugins.section("github", GithubSettings, EnvSecrets({}))


def test_a_table_that_does_not_fit_names_the_table_and_field() -> None:
    plugins = PluginSettings({"github": {"token": "x", "per_page": "many"}})
    with pytest.raises(PluginSettingsError, match=r"\[plugins.github\].*per_page"):
        plugins.section("github", GithubSettings, EnvSecrets({}))
    with pytest.raises(PluginSettingsError, match=r"\[plugins.github\].*token"):
        PluginSettings().section("github", GithubSettings, EnvSecrets({}))  # no table: {}


async def test_an_integration_is_tested_through_an_injected_transport(
    ctx: ToolContext, tmp_path: Path
) -> None:
    router = respx.MockRouter(assert_all_called=True)
    route = router.get("https://api.github.test/repos/acme/orchestra").respond(
        json={"full_name": "acme/orchestra"}
    )
    context = replace(
        ctx,
        plugins=project_tables(tmp_path),
        secrets=EnvSecrets({"GITHUB_TOKEN": "t0k"}),
        transport=httpx.MockTransport(router.async_handler),
    )
    registry = ToolRegistry()
    registry.register(github_repo)
    result = await registry.call("github.repo", {"name": "orchestra"}, context)
    assert result.ok, result.content
    assert result.data == {"full_name": "acme/orchestra"}
    assert route.calls.last.request.headers["Authorization"] == "Bearer t0k"
    missing = await registry.call(
        "github.repo", {"name": "orchestra"}, replace(context, secrets=EnvSecrets({}))
    )
    assert missing.error_type == "MissingSecretError"


async def test_the_default_transport_is_the_network_guard(ctx: ToolContext, server: str) -> None:
    async with ctx.http_client() as client:
        with pytest.raises(BlockedAddressError, match="loopback"):
            await client.get(f"{server}/page")
    allowed = replace(
        ctx, settings=ctx.settings.model_copy(update={"http_allowed_networks": ("127.0.0.1/32",)})
    )
    async with allowed.http_client() as client:
        page = await client.get(f"{server}/page")
        assert page.status_code == 200 and "<html" in page.text.lower()
        # Each redirect hop goes through the transport again, so each one is checked.
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.2"):
            await client.get(f"{server}/to-private", follow_redirects=True)
        followed = await client.get(f"{server}/to-page", follow_redirects=True)
        assert followed.status_code == 200 and followed.url.path == "/page"
