from __future__ import annotations

import json
import shutil

import pytest

from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry


async def shell(reg: ToolRegistry, ctx: ToolContext, *argv: str) -> tuple[str, str]:
    result = await reg.call("shell", json.dumps({"argv": list(argv)}), ctx)
    return result.status, result.content


async def test_runs_an_allowlisted_program_in_the_workspace(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    (ctx.workspace.root / "src" / "a.txt").write_text("one\ntwo\n")
    status, out = await shell(registry, ctx, "wc", "-l", "src/a.txt")
    assert status == "ok"
    assert "exit code: 0" in out and "2 src/a.txt" in out
    assert str(ctx.workspace.root) in (await shell(registry, ctx, "pwd"))[1]


@pytest.mark.parametrize(
    "payload",
    [
        "; rm -rf .",
        "$(touch pwned)",
        "`touch pwned`",
        "| touch pwned",
        "&& touch pwned",
        "*",
        "> pwned",
    ],
)
async def test_shell_metacharacters_are_passed_literally(
    registry: ToolRegistry, ctx: ToolContext, payload: str
) -> None:
    status, out = await shell(registry, ctx, "echo", payload)
    assert status == "ok"
    assert f"--- stdout ---\n{payload}" in out
    assert not (ctx.workspace.root / "pwned").exists()
    assert (ctx.workspace.root / "README.md").exists()


@pytest.mark.parametrize("program", ["rm", "chmod", "dd"])
async def test_program_not_on_the_allowlist_is_refused(
    registry: ToolRegistry, ctx: ToolContext, program: str
) -> None:
    (ctx.workspace.root / "keep").write_text("x")
    status, out = await shell(registry, ctx, program, "keep")
    assert status == "error" and "not on the shell allowlist" in out and "allowed: cat" in out
    assert (ctx.workspace.root / "keep").exists()


async def test_path_tricks_do_not_pass_the_allowlist(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    (ctx.workspace.root / "keep").write_text("x")
    for trick in ("/bin/../bin/rm", "/usr/bin/../bin/rm", "/usr/./bin/rm"):
        status, out = await shell(registry, ctx, trick, "keep")
        assert status == "error" and "resolves to" in out and "/rm" in out, trick
    # a copy of a forbidden binary named like an allowed one, inside the workspace
    rm = shutil.which("rm")
    assert rm is not None
    shutil.copy(rm, ctx.workspace.root / "ls")
    (ctx.workspace.root / "ls").chmod(0o755)
    status, out = await shell(registry, ctx, "./ls", "keep")
    assert status == "error" and "not on the shell allowlist" in out
    assert (ctx.workspace.root / "keep").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["python3", "-c", "print(1)"],
        ["bash", "-c", "id"],
        ["env", "rm", "keep"],
        ["git", "-c", "core.pager=touch pwned", "log"],
        ["git", "--upload-pack=touch pwned", "clone", "src", "x"],
        ["git", "clone", "ext::sh -c touch% pwned", "x"],
        ["git", "config", "alias.x", "!touch pwned"],
        ["find", ".", "-exec", "touch", "pwned", ";"],
        ["cat", "/etc/shadow"],
        ["cat", "../../etc/passwd"],
    ],
)
async def test_argument_rules_refuse_code_execution_and_escapes(
    registry: ToolRegistry, ctx: ToolContext, argv: list[str]
) -> None:
    settings = ToolSettings(
        shell_allowlist=(*ctx.settings.shell_allowlist, "python3", "bash", "env")
    )
    wide = ToolContext(workspace=ctx.workspace, settings=settings)
    status, out = await shell(registry, wide, *argv)
    assert status == "error", out
    assert not (ctx.workspace.root / "pwned").exists()


async def test_environment_is_scrubbed_of_secrets(
    registry: ToolRegistry, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    (ctx.workspace.root / "src" / "f").write_text("x")
    result = await registry.call("python", {"code": "import os; print(sorted(os.environ))"}, ctx)
    assert result.ok
    assert "OPENAI_API_KEY" not in result.content
    assert "'HOME'" in result.content and "'PATH'" in result.content


async def test_timeout_kills_the_command(registry: ToolRegistry, ctx: ToolContext) -> None:
    fast = ToolContext(
        workspace=ctx.workspace, settings=ToolSettings(shell_timeout_s=1, shell_allowlist=("tail",))
    )
    (ctx.workspace.root / "f").write_text("x")
    result = await registry.call("shell", {"argv": ["tail", "-f", "f"]}, fast)
    assert result.status == "error"
    assert "wall-clock timeout (1 s)" in result.content


@pytest.mark.parametrize(
    "argv",
    [
        ["cp", "src/hook", ".git/hooks/pre-commit"],
        ["mv", "src/hook", ".git/hooks/post-checkout"],
        ["touch", ".git/hooks/pre-push"],
        ["mkdir", "-p", "sub/.git/hooks"],
    ],
)
async def test_file_writers_may_not_reach_version_control_metadata(
    registry: ToolRegistry, ctx: ToolContext, argv: list[str]
) -> None:
    (ctx.workspace.root / ".git" / "hooks").mkdir(parents=True)
    (ctx.workspace.root / "src" / "hook").write_text("#!/bin/sh\n")
    status, out = await shell(registry, ctx, *argv)
    assert status == "error" and "version-control metadata" in out
    assert list((ctx.workspace.root / ".git" / "hooks").iterdir()) == []
    assert not (ctx.workspace.root / "sub").exists()
