"""``github.issue.create|comment|list`` and ``github.pr.create|list`` through githubkit.

githubkit (typed, maintained, httpx-based) sends every request through the tool
context's transport: the network guard by default, a respx router in tests. Its
own HTTP cache and automatic retries are off: a tool call is one request the
agent can see, and a retried step repeats it explicitly. ``[plugins.github] repos``
limits which ``owner/name`` the tools may touch; list sizes are capped by
``max_list``. githubkit's errors become :class:`GithubApiError` here, once.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

from orchestra.integrations.github.errors import GithubApiError
from orchestra.integrations.github.settings import GithubSettings
from orchestra.tools.errors import MissingSecretError, ToolArgumentsError
from orchestra.tools.netguard import policy_from
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

if TYPE_CHECKING:
    from githubkit import GitHub

T = TypeVar("T")
_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


class RepoArgs(BaseModel):
    repo: str = Field(description="owner/name, e.g. 'acme/website'.")

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not _REPO.match(value):
            raise ValueError("write the repository as owner/name, e.g. 'acme/website'")
        return value

    @property
    def owner_name(self) -> tuple[str, str]:
        owner, name = self.repo.split("/", 1)
        return owner, name


@asynccontextmanager
async def github_client(
    ctx: ToolContext, repo: str
) -> AsyncIterator[tuple[GitHub[Any], GithubSettings]]:
    """A githubkit client for one call, after checking the token and the repository."""
    from githubkit import GitHub

    from orchestra.tools.http import GuardedTransport

    settings = ctx.plugin_settings("github", GithubSettings)
    if not settings.token:
        raise MissingSecretError(
            'the github tools need a token: set token = "os.environ/GITHUB_TOKEN" in '
            "[plugins.github] of orchestra.toml and export GITHUB_TOKEN"
        )
    if not settings.repo_allowed(repo):
        raise ToolArgumentsError(
            f"repository {repo!r} is not in [plugins.github] repos ({', '.join(settings.repos)}); "
            "add a pattern there to allow it"
        )
    transport = ctx.transport or GuardedTransport(
        policy_from(ctx.settings.allow_private_network, ctx.settings.http_allowed_networks)
    )
    client: GitHub[Any] = GitHub(
        settings.token,
        base_url=settings.api_url,
        async_transport=transport,
        timeout=ctx.settings.http_timeout_s,
        http_cache=False,
        auto_retry=False,
        user_agent="orchestra",
    )
    yield client, settings


def _json(response: Any) -> Any:
    """The decoded body (plain JSON: githubkit's typed models are stricter than needed)."""
    return json.loads(response.content)


async def _call(what: str, request: Callable[[], Awaitable[T]]) -> T:
    from githubkit.exception import GitHubException, RequestFailed, RequestTimeout

    try:
        return await request()
    except RequestFailed as exc:
        status = exc.response.status_code
        try:
            detail = _json(exc.response).get("message", "")
        except ValueError:
            detail = exc.response.text[:300]
        hint = {
            401: "the token is wrong or expired; check GITHUB_TOKEN",
            403: "the token lacks a permission, or the rate limit is spent",
            404: "no such repository or number, or the token cannot see it",
            422: "GitHub refused the fields; read the message and fix the arguments",
        }.get(status, "")
        raise GithubApiError(
            f"GitHub {what} failed: {status} {detail}" + (f" ({hint})" if hint else ""),
            status=status,
            retryable=status >= 500 or status == 429,
        ) from exc
    except RequestTimeout as exc:
        raise GithubApiError(f"GitHub {what} timed out", retryable=True) from exc
    except GitHubException as exc:
        raise GithubApiError(f"GitHub {what} failed: {exc}", retryable=True) from exc


class IssueCreateArgs(RepoArgs):
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(default="", max_length=65_536)
    labels: list[str] = Field(default_factory=list, max_length=20)


@tool("github.issue.create", permission=Permission.NETWORK)
async def issue_create(args: IssueCreateArgs, ctx: ToolContext) -> ToolOutput:
    """Open an issue in a GitHub repository."""
    owner, name = args.owner_name
    async with github_client(ctx, args.repo) as (gh, _):
        response = await _call(
            "issue create",
            lambda: gh.rest.issues.async_create(
                owner, name, title=args.title, body=args.body, labels=list(args.labels)
            ),
        )
    issue = _json(response)
    return ToolOutput(
        text=f"opened issue #{issue['number']}: {issue['html_url']}",
        data={"number": issue["number"], "url": issue["html_url"]},
    )


class IssueCommentArgs(RepoArgs):
    number: int = Field(ge=1, description="Issue or pull request number.")
    body: str = Field(min_length=1, max_length=65_536)


@tool("github.issue.comment", permission=Permission.NETWORK)
async def issue_comment(args: IssueCommentArgs, ctx: ToolContext) -> ToolOutput:
    """Comment on an issue or pull request."""
    owner, name = args.owner_name
    async with github_client(ctx, args.repo) as (gh, _):
        response = await _call(
            "comment",
            lambda: gh.rest.issues.async_create_comment(
                owner, name, args.number, data={"body": args.body}
            ),
        )
    comment = _json(response)
    return ToolOutput(
        text=f"commented on #{args.number}: {comment['html_url']}",
        data={"id": comment["id"], "url": comment["html_url"]},
    )


class ListArgs(RepoArgs):
    state: Literal["open", "closed", "all"] = "open"
    limit: int = Field(default=30, ge=1, le=100)


class IssueListArgs(ListArgs):
    labels: list[str] = Field(default_factory=list)


@tool("github.issue.list", permission=Permission.NETWORK)
async def issue_list(args: IssueListArgs, ctx: ToolContext) -> ToolOutput:
    """List issues of a repository (pull requests left out)."""
    owner, name = args.owner_name
    async with github_client(ctx, args.repo) as (gh, settings):
        limit = min(args.limit, settings.max_list)
        extra: dict[str, Any] = {"labels": ",".join(args.labels)} if args.labels else {}
        response = await _call(
            "issue list",
            lambda: gh.rest.issues.async_list_for_repo(
                owner, name, state=args.state, per_page=limit, **extra
            ),
        )
    issues = [i for i in _json(response) if not i.get("pull_request")][:limit]
    rows = [
        {"number": i["number"], "title": i["title"], "state": i["state"], "url": i["html_url"]}
        for i in issues
    ]
    text = "\n".join(f"#{r['number']} [{r['state']}] {r['title']}" for r in rows)
    return ToolOutput(text=text or f"no {args.state} issues", data={"issues": rows})


class PrCreateArgs(RepoArgs):
    title: str = Field(min_length=1, max_length=256)
    head: str = Field(min_length=1, description="The branch with the changes (pushed first).")
    base: str = Field(default="main", min_length=1, description="The branch to merge into.")
    body: str = Field(default="", max_length=65_536)
    draft: bool = False


@tool("github.pr.create", permission=Permission.NETWORK)
async def pr_create(args: PrCreateArgs, ctx: ToolContext) -> ToolOutput:
    """Open a pull request from head into base (push the branch with git.push first)."""
    owner, name = args.owner_name
    async with github_client(ctx, args.repo) as (gh, _):
        response = await _call(
            "pull request create",
            lambda: gh.rest.pulls.async_create(
                owner,
                name,
                data={
                    "title": args.title,
                    "head": args.head,
                    "base": args.base,
                    "body": args.body,
                    "draft": args.draft,
                },
            ),
        )
    pr = _json(response)
    return ToolOutput(
        text=f"opened pull request #{pr['number']}: {pr['html_url']}",
        data={"number": pr["number"], "url": pr["html_url"]},
    )


@tool("github.pr.list", permission=Permission.NETWORK)
async def pr_list(args: ListArgs, ctx: ToolContext) -> ToolOutput:
    """List pull requests of a repository."""
    owner, name = args.owner_name
    async with github_client(ctx, args.repo) as (gh, settings):
        limit = min(args.limit, settings.max_list)
        response = await _call(
            "pull request list",
            lambda: gh.rest.pulls.async_list(owner, name, state=args.state, per_page=limit),
        )
    rows = [
        {
            "number": p["number"],
            "title": p["title"],
            "state": p["state"],
            "head": p["head"]["ref"],
            "base": p["base"]["ref"],
            "url": p["html_url"],
        }
        for p in _json(response)[:limit]
    ]
    text = "\n".join(
        f"#{r['number']} [{r['state']}] {r['head']} -> {r['base']}: {r['title']}" for r in rows
    )
    return ToolOutput(text=text or f"no {args.state} pull requests", data={"pulls": rows})


TOOLS: tuple[Tool, ...] = (issue_create, issue_comment, issue_list, pr_create, pr_list)
