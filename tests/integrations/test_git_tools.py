"""``git.*`` for real: a local bare repository stands for the remote. Clone, branch,
commit, push, and fetch back with a second clone; hooks never run on either side;
remotes the project did not allow are refused before git starts."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestra.integrations.github import register
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.secrets import EnvSecrets
from orchestra.tools.workspace import Workspace

HOOK = "#!/bin/sh\ntouch '{marker}'\nexit 0\n"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1",
             "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@x"},
    ).stdout  # fmt: skip


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A bare repository with one commit on main, and a pre-receive hook that must not run."""
    remote = tmp_path / "remote.git"
    git("init", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    seed = tmp_path / "seed"
    git("clone", str(remote), str(seed), cwd=tmp_path)
    (seed / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=seed)
    git("commit", "-m", "first", cwd=seed)
    git("push", "origin", "HEAD:main", cwd=seed)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(HOOK.format(marker=tmp_path / "server-hook-ran"))
    hook.chmod(0o755)
    return remote


def git_ctx(tmp_path: Path, **table: Any) -> ToolContext:
    return ToolContext(
        workspace=Workspace.create(tmp_path / "ws", "run-1"),
        plugins=PluginSettings(
            {"github": {"author_name": "Bot", "author_email": "bot@x.org", **table}}
        ),
        secrets=EnvSecrets({}),
    )


@pytest.fixture
def tools() -> ToolRegistry:
    registry = ToolRegistry()
    register(registry)
    return registry


async def test_clone_branch_commit_push_and_fetch_back(
    tmp_path: Path, bare: Path, tools: ToolRegistry
) -> None:
    ctx = git_ctx(tmp_path, local_remotes=[str(bare)])
    cloned = await tools.call("git.clone", {"url": str(bare)}, ctx)
    assert cloned.status == "ok", cloned.content
    repo = ctx.workspace.root / "src" / "remote"
    assert (repo / "README.md").read_text() == "hello\n"
    # A hook planted in the clone (say by a malicious checkout step) never runs.
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(HOOK.format(marker=tmp_path / "client-hook-ran"))
    hook.chmod(0o755)

    branch = await tools.call("git.branch", {"repo": "src/remote", "name": "feature/x"}, ctx)
    assert branch.status == "ok" and branch.data == {"branch": "feature/x", "created": True}
    (repo / "notes.md").write_text("new work\n")
    diff = await tools.call("git.diff", {"repo": "src/remote", "stat": True}, ctx)
    assert diff.content == "no changes"  # untracked files are not in a diff
    commit = await tools.call("git.commit", {"repo": "src/remote", "message": "Add notes"}, ctx)
    assert commit.status == "ok", commit.content
    assert "notes.md" in commit.content
    staged = await tools.call("git.diff", {"repo": "src/remote", "ref": "main"}, ctx)
    assert "+new work" in staged.content
    pushed = await tools.call("git.push", {"repo": "src/remote"}, ctx)
    assert pushed.status == "ok", pushed.content

    assert not (tmp_path / "client-hook-ran").exists()
    assert not (tmp_path / "server-hook-ran").exists()
    log = git("log", "--format=%an <%ae> %s", "feature/x", cwd=bare)
    assert log.splitlines()[0] == "Bot <bot@x.org> Add notes"
    assert commit.data is not None
    assert git("rev-parse", "feature/x", cwd=bare).strip() == commit.data["sha"]

    back = await tools.call(
        "git.clone", {"url": f"file://{bare}", "path": "src/again", "branch": "feature/x"}, ctx
    )
    assert back.status == "ok", back.content
    assert (ctx.workspace.root / "src" / "again" / "notes.md").read_text() == "new work\n"
    listed = await tools.call("git.branch", {"repo": "src/again"}, ctx)
    assert "feature/x" in listed.content


async def test_nothing_to_commit_is_an_error_result(
    tmp_path: Path, bare: Path, tools: ToolRegistry
) -> None:
    ctx = git_ctx(tmp_path, local_remotes=[str(bare)])
    await tools.call("git.clone", {"url": str(bare), "path": "r"}, ctx)
    result = await tools.call("git.commit", {"repo": "r", "message": "nothing"}, ctx)
    assert result.status == "error" and "nothing to commit" in result.content


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://git@github.com/acme/x.git", "transports are not allowed"),
        ("git@github.com:acme/x.git", "transports are not allowed"),
        ("ext::sh -c touch% /tmp/pwned", "transports are not allowed"),
        ("https://evil.test/acme/x.git", "add it to [plugins.github] hosts"),
        ("https://user:pw@github.com/acme/x.git", "credentials in the remote URL"),
        ("/etc", "not in [plugins.github] local_remotes"),
    ],
)
async def test_remotes_the_project_did_not_allow_are_refused(
    tmp_path: Path, bare: Path, tools: ToolRegistry, url: str, expected: str
) -> None:
    ctx = git_ctx(tmp_path, local_remotes=[str(bare)])
    result = await tools.call("git.clone", {"url": url}, ctx)
    assert result.status == "error"
    assert expected in result.content
    assert not (ctx.workspace.root / "src").joinpath("x").exists()


async def test_a_push_rechecks_a_remote_changed_behind_the_tools_back(
    tmp_path: Path, bare: Path, tools: ToolRegistry
) -> None:
    ctx = git_ctx(tmp_path, local_remotes=[str(bare)])
    await tools.call("git.clone", {"url": str(bare), "path": "r"}, ctx)
    other = tmp_path / "other.git"
    git("init", "--bare", str(other), cwd=tmp_path)
    git("remote", "set-url", "origin", str(other), cwd=ctx.workspace.root / "r")
    result = await tools.call("git.push", {"repo": "r"}, ctx)
    assert result.status == "error" and "local_remotes" in result.content


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("git.branch", {"repo": "r", "name": "--force"}, "not a valid git ref name"),
        ("git.branch", {"repo": "r", "name": "a..b"}, "not a valid git ref name"),
        ("git.diff", {"repo": "r", "paths": ["../../etc"]}, "'..'"),
        ("git.commit", {"repo": "r", "message": "x", "paths": ["/etc/passwd"]}, "absolute path"),
        ("git.diff", {"repo": "nope"}, "not a git repository"),
        ("git.clone", {"url": "x", "path": "../out"}, "'..'"),
    ],
)
async def test_bad_arguments_are_refused(
    tmp_path: Path, bare: Path, tools: ToolRegistry, tool: str, args: dict[str, Any], expected: str
) -> None:
    ctx = git_ctx(tmp_path, local_remotes=[str(bare)])
    await tools.call("git.clone", {"url": str(bare), "path": "r"}, ctx)
    if tool == "git.clone":
        args = {**args, "url": str(bare)}
    result = await tools.call(tool, args, ctx)
    assert result.status == "error"
    assert expected in result.content
