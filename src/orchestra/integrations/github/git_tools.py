"""``git.clone``, ``git.branch``, ``git.commit``, ``git.push``, ``git.diff``: version
control in the workspace through the git CLI (see :mod:`.git_runner` for how each
process is confined and how the token travels).

Every repository path is a workspace path; the remote of a push is read back from the
repository and checked again (an agent may have changed it with the shell tool).
Branch and ref names are checked with ``git check-ref-format`` rules before use and
never start with ``-``, so they cannot be read as options.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from orchestra.integrations.github.errors import GitError
from orchestra.integrations.github.git_runner import (
    GitOutcome,
    Remote,
    check_remote,
    git_environment,
    run_git,
)
from orchestra.integrations.github.settings import GithubSettings
from orchestra.tools.errors import ToolArgumentsError, WorkspacePathError
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

_REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![./])$")


def _ref(name: str, what: str) -> str:
    if not _REF.match(name) or name.endswith(".lock"):
        raise ToolArgumentsError(
            f"{what} {name!r} is not a valid git ref name (letters, digits, '.', '_', '/', '-'; "
            "not starting with '-', no '..')"
        )
    return name


class Git:
    """The settings, token and environment of one call (built per call: settings may change)."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.settings = ctx.plugin_settings("github", GithubSettings)
        self.token = self.settings.token

    def repo_dir(self, path: str) -> str:
        parts = self.ctx.workspace.split(path)
        folder = self.ctx.workspace.root.joinpath(*parts)
        if folder.is_symlink() or not (folder / ".git").is_dir():
            raise WorkspacePathError(
                f"{path!r} is not a git repository in the workspace; clone one with git.clone"
            )
        return str(folder)

    async def run(
        self, args: list[str], *, cwd: str, remote: Remote | None = None, check: bool = True
    ) -> GitOutcome:
        from pathlib import Path

        env = git_environment(
            self.ctx.workspace.root, self.settings, remote=remote, token=self.token
        )
        return await run_git(
            args,
            cwd=Path(cwd),
            env=env,
            timeout_s=self.settings.git_timeout_s,
            max_chars=self.settings.max_output_chars,
            secrets=[self.token or ""],
            check=check,
        )


class CloneArgs(BaseModel):
    url: str = Field(description="https URL of the repository (or an allowed local repository).")
    path: str = Field(
        default="", description="Workspace folder to clone into; default src/<repository name>."
    )
    branch: str | None = Field(default=None, description="Branch to check out.")
    depth: int | None = Field(default=None, ge=1, le=100_000, description="Shallow clone depth.")


@tool("git.clone", permission=Permission.NETWORK)
async def git_clone(args: CloneArgs, ctx: ToolContext) -> ToolOutput:
    """Clone a repository into the workspace (hooks disabled)."""
    git = Git(ctx)
    remote = await check_remote(args.url, git.settings, ctx.settings)
    name = args.url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repo"
    target = args.path or f"src/{name}"
    parts = ctx.workspace.split_writable(target)
    if not parts:
        raise ToolArgumentsError("path must name a folder inside the workspace, not its root")
    dest = ctx.workspace.root.joinpath(*parts)
    if dest.exists() and (dest.is_symlink() or any(dest.iterdir())):
        raise WorkspacePathError(f"{target!r} exists and is not empty; choose another path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    argv = ["clone", "--no-recurse-submodules"]
    if args.branch:
        argv += ["--branch", _ref(args.branch, "branch")]
    if args.depth:
        argv += ["--depth", str(args.depth)]
    argv += ["--", remote.url, str(dest)]
    await git.run(argv, cwd=str(ctx.workspace.root), remote=remote)
    head = await git.run(["rev-parse", "--abbrev-ref", "HEAD"], cwd=str(dest), check=False)
    return ToolOutput(
        text=f"cloned {args.url} into {target} (branch {head.stdout.strip() or 'none'})",
        data={"path": target, "branch": head.stdout.strip()},
    )


class BranchArgs(BaseModel):
    repo: str = Field(description="Workspace path of the repository, e.g. 'src/app'.")
    name: str | None = Field(default=None, description="Branch to create or switch to; none: list.")
    start_point: str | None = Field(default=None, description="Where a new branch starts.")
    create: bool = Field(default=True, description="Create the branch if it does not exist.")


@tool("git.branch", permission=Permission.WRITE)
async def git_branch(args: BranchArgs, ctx: ToolContext) -> ToolOutput:
    """List branches, or switch to a branch (creating it from start_point if needed)."""
    git = Git(ctx)
    cwd = git.repo_dir(args.repo)
    if args.name is None:
        out = await git.run(["branch", "--list", "--no-color"], cwd=cwd)
        return ToolOutput(text=out.stdout.strip() or "(no branches yet)")
    name = _ref(args.name, "branch")
    exists = await git.run(
        ["rev-parse", "--verify", "--quiet", f"refs/heads/{name}"], cwd=cwd, check=False
    )
    if exists.code == 0:
        await git.run(["switch", "--no-guess", name], cwd=cwd)
        return ToolOutput(text=f"switched to {name}", data={"branch": name, "created": False})
    if not args.create:
        raise GitError(f"branch {name!r} does not exist; pass create=true to create it")
    argv = ["switch", "--create", name]
    if args.start_point:
        argv.append(_ref(args.start_point, "start_point"))
    await git.run(argv, cwd=cwd)
    return ToolOutput(
        text=f"created and switched to {name}", data={"branch": name, "created": True}
    )


class CommitArgs(BaseModel):
    repo: str = Field(description="Workspace path of the repository.")
    message: str = Field(min_length=1, max_length=10_000)
    paths: list[str] = Field(
        default_factory=lambda: ["."], description="Paths (inside the repository) to stage."
    )


@tool("git.commit", permission=Permission.WRITE)
async def git_commit(args: CommitArgs, ctx: ToolContext) -> ToolOutput:
    """Stage the given paths and commit them (author from [plugins.github]); no hooks run."""
    git = Git(ctx)
    cwd = git.repo_dir(args.repo)
    for path in args.paths:
        ctx.workspace.split(path)  # no absolute paths, no '..'
    await git.run(["add", "--", *args.paths], cwd=cwd)
    staged = await git.run(["diff", "--cached", "--quiet"], cwd=cwd, check=False)
    if staged.code == 0:
        return ToolOutput(text="nothing to commit: no changes in those paths", is_error=True)
    await git.run(["commit", "--no-verify", "--quiet", "-m", args.message], cwd=cwd)
    sha = (await git.run(["rev-parse", "HEAD"], cwd=cwd)).stdout.strip()
    stat = (await git.run(["show", "--stat", "--format=", "HEAD"], cwd=cwd)).stdout.strip()
    return ToolOutput(text=f"committed {sha[:12]}\n{stat}", data={"sha": sha})


class PushArgs(BaseModel):
    repo: str = Field(description="Workspace path of the repository.")
    remote: str = Field(default="origin")
    branch: str | None = Field(default=None, description="Branch to push; default the current one.")


@tool("git.push", permission=Permission.NETWORK)
async def git_push(args: PushArgs, ctx: ToolContext) -> ToolOutput:
    """Push a branch to its remote (never forced); the token comes from the secret store."""
    git = Git(ctx)
    cwd = git.repo_dir(args.repo)
    remote_name = _ref(args.remote, "remote")
    url = (await git.run(["remote", "get-url", "--", remote_name], cwd=cwd)).stdout.strip()
    remote = await check_remote(url, git.settings, ctx.settings)
    branch = (
        args.branch or (await git.run(["symbolic-ref", "--short", "HEAD"], cwd=cwd)).stdout.strip()
    )
    branch = _ref(branch, "branch")
    refspec = f"refs/heads/{branch}:refs/heads/{branch}"  # no '+': never a forced update
    if remote.origin is None:
        # A local remote: git would start its receive-pack with our config environment
        # dropped (so the remote's hooks would run); fetch from the remote's side
        # instead, in a process whose safe configuration we set.
        await git.run(["fetch", "--no-tags", "--", cwd, refspec], cwd=remote.url)
    else:
        await git.run(["push", "--no-verify", remote.url, refspec], cwd=cwd, remote=remote)
    await git.run(
        ["update-ref", f"refs/remotes/{remote_name}/{branch}", f"refs/heads/{branch}"], cwd=cwd
    )
    return ToolOutput(
        text=f"pushed {branch} to {remote_name}", data={"branch": branch, "remote": remote_name}
    )


class DiffArgs(BaseModel):
    repo: str = Field(description="Workspace path of the repository.")
    staged: bool = Field(default=False, description="Show staged changes instead of unstaged.")
    ref: str | None = Field(default=None, description="Compare with this ref, e.g. 'main'.")
    paths: list[str] = Field(default_factory=list)
    stat: bool = Field(default=False, description="Only a summary of changed files.")


@tool("git.diff", permission=Permission.READ)
async def git_diff(args: DiffArgs, ctx: ToolContext) -> ToolOutput:
    """Show changes in a repository of the workspace (unstaged, staged, or against a ref)."""
    git = Git(ctx)
    cwd = git.repo_dir(args.repo)
    argv = ["diff", "--no-color", "--no-ext-diff"]
    if args.stat:
        argv.append("--stat")
    if args.staged:
        argv.append("--cached")
    if args.ref:
        argv.append(_ref(args.ref, "ref"))
    for path in args.paths:
        ctx.workspace.split(path)
    out = await git.run([*argv, "--", *args.paths], cwd=cwd)
    return ToolOutput(text=out.stdout or "no changes")


TOOLS: tuple[Tool, ...] = (git_clone, git_branch, git_commit, git_push, git_diff)
