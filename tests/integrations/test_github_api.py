"""``github.issue.*`` / ``github.pr.*`` at the HTTP transport: a respx router stands for
api.github.com (a third-party API we cannot reach); githubkit, our argument checks and
error translation run for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from orchestra.integrations.github import register
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.secrets import EnvSecrets
from orchestra.tools.workspace import Workspace

API = "https://api.github.com"


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=True)


@pytest.fixture
def tools() -> ToolRegistry:
    registry = ToolRegistry()
    register(registry)
    return registry


def api_ctx(tmp_path: Path, router: respx.MockRouter, **table: Any) -> ToolContext:
    return ToolContext(
        workspace=Workspace.create(tmp_path, "run-1"),
        plugins=PluginSettings(
            {"github": {"token": "os.environ/GITHUB_TOKEN", "repos": ["acme/*"], **table}}
        ),
        secrets=EnvSecrets({"GITHUB_TOKEN": "ghp_secret"}),
        transport=httpx.MockTransport(router.async_handler),
    )


async def test_issue_create_sends_the_fields_with_the_token(
    tmp_path: Path, router: respx.MockRouter, tools: ToolRegistry
) -> None:
    route = router.post(f"{API}/repos/acme/site/issues").respond(
        201, json={"id": 1, "number": 17, "html_url": "https://github.com/acme/site/issues/17"}
    )
    result = await tools.call(
        "github.issue.create",
        {"repo": "acme/site", "title": "Broken link", "body": "On /about", "labels": ["bug"]},
        api_ctx(tmp_path, router),
    )
    assert result.status == "ok", result.content
    assert result.data == {"number": 17, "url": "https://github.com/acme/site/issues/17"}
    request = route.calls.last.request
    assert request.headers["Authorization"] in ("token ghp_secret", "Bearer ghp_secret")
    assert json.loads(request.content) == {
        "title": "Broken link",
        "body": "On /about",
        "labels": ["bug"],
    }


async def test_comment_list_and_pull_requests(
    tmp_path: Path, router: respx.MockRouter, tools: ToolRegistry
) -> None:
    ctx = api_ctx(tmp_path, router)
    comment = router.post(f"{API}/repos/acme/site/issues/17/comments").respond(
        201, json={"id": 99, "html_url": "https://github.com/acme/site/issues/17#c99"}
    )
    issues = router.get(f"{API}/repos/acme/site/issues").respond(
        json=[
            {"number": 17, "title": "Broken link", "state": "open", "html_url": "u17"},
            {
                "number": 18,
                "title": "A PR",
                "state": "open",
                "html_url": "u18",
                "pull_request": {"url": "x"},
            },
        ]
    )
    pr = router.post(f"{API}/repos/acme/site/pulls").respond(
        201, json={"number": 19, "html_url": "https://github.com/acme/site/pull/19"}
    )
    pulls = router.get(f"{API}/repos/acme/site/pulls").respond(
        json=[{"number": 19, "title": "Fix link", "state": "open", "html_url": "u19",
               "head": {"ref": "fix/link"}, "base": {"ref": "main"}}]
    )  # fmt: skip

    said = await tools.call(
        "github.issue.comment", {"repo": "acme/site", "number": 17, "body": "On it"}, ctx
    )
    assert said.status == "ok" and json.loads(comment.calls.last.request.content) == {
        "body": "On it"
    }

    listed = await tools.call(
        "github.issue.list", {"repo": "acme/site", "labels": ["bug", "ui"], "limit": 5}, ctx
    )
    assert listed.status == "ok", listed.content
    assert listed.content == "#17 [open] Broken link"  # the pull request is left out
    params = issues.calls.last.request.url.params
    assert params["labels"] == "bug,ui" and params["per_page"] == "5" and params["state"] == "open"

    opened = await tools.call(
        "github.pr.create",
        {"repo": "acme/site", "title": "Fix link", "head": "fix/link", "body": "Closes #17"},
        ctx,
    )
    assert opened.status == "ok" and opened.data == {
        "number": 19,
        "url": "https://github.com/acme/site/pull/19",
    }
    assert json.loads(pr.calls.last.request.content) == {
        "title": "Fix link", "head": "fix/link", "base": "main", "body": "Closes #17", "draft": False,
    }  # fmt: skip

    shown = await tools.call("github.pr.list", {"repo": "acme/site", "state": "all"}, ctx)
    assert shown.content == "#19 [open] fix/link -> main: Fix link"
    assert pulls.calls.last.request.url.params["state"] == "all"


async def test_api_errors_are_translated_with_a_hint(
    tmp_path: Path, router: respx.MockRouter, tools: ToolRegistry
) -> None:
    router.post(f"{API}/repos/acme/site/issues").respond(404, json={"message": "Not Found"})
    router.get(f"{API}/repos/acme/site/pulls").respond(502, json={"message": "Bad gateway"})
    ctx = api_ctx(tmp_path, router)
    missing = await tools.call("github.issue.create", {"repo": "acme/site", "title": "x"}, ctx)
    assert missing.status == "error" and not missing.retryable
    assert "404 Not Found" in missing.content and "token cannot see it" in missing.content
    down = await tools.call("github.pr.list", {"repo": "acme/site"}, ctx)
    assert down.status == "error" and down.retryable and "502" in down.content


@pytest.mark.parametrize(
    ("args", "table", "secrets", "expected"),
    [
        (
            {"repo": "other/site", "title": "x"},
            {},
            {"GITHUB_TOKEN": "t"},
            "not in [plugins.github] repos",
        ),
        ({"repo": "acme", "title": "x"}, {}, {"GITHUB_TOKEN": "t"}, "owner/name"),
        ({"repo": "acme/site", "title": ""}, {}, {"GITHUB_TOKEN": "t"}, "title"),
        ({"repo": "acme/site", "title": "x"}, {}, {}, "GITHUB_TOKEN"),
    ],
)
async def test_refused_before_any_request(
    tmp_path: Path,
    tools: ToolRegistry,
    args: dict[str, Any],
    table: dict[str, Any],
    secrets: dict[str, str],
    expected: str,
) -> None:
    router = respx.MockRouter(assert_all_called=False)
    ctx = api_ctx(tmp_path, router, **table)
    ctx = ToolContext(
        workspace=ctx.workspace,
        plugins=ctx.plugins,
        secrets=EnvSecrets(secrets),
        transport=ctx.transport,
    )
    result = await tools.call("github.issue.create", args, ctx)
    assert result.status == "error"
    assert expected in result.content
    assert router.calls.call_count == 0
