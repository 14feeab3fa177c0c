"""Running git for the ``git.*`` tools: argv only, no hooks, credentials in memory only.

Every git process gets:

* an argv list (never a shell) and a scrubbed environment: ``PATH``, ``HOME`` (the
  workspace), no system or global config (``GIT_CONFIG_NOSYSTEM``,
  ``GIT_CONFIG_GLOBAL=/dev/null``), never a prompt (``GIT_TERMINAL_PROMPT=0``);
* **safe configuration through the environment** (``GIT_CONFIG_COUNT`` /
  ``GIT_CONFIG_KEY_n`` / ``GIT_CONFIG_VALUE_n``, the same scope as ``-c``, above any
  repository's own config): hooks off (``core.hooksPath=/dev/null``), no fsmonitor,
  pager, editor, external diff or credential helper, every transport refused but
  https (and ``file`` when ``local_remotes`` lists a repository), no redirects;
* **the token only in that child's environment**: an ``http.<origin>/.extraHeader``
  entry with HTTP Basic credentials, scoped to the one allowed origin of the remote.
  It is never written to ``.git/config``, a credential store, a file or an argv
  (which other local users could read in ``/proc``), and it is scrubbed from output.

A remote is checked before git sees it (:func:`check_remote`): https on a host in
``[plugins.github] hosts`` whose addresses pass the network guard, or a path inside
one of ``local_remotes``. Anything else (ssh, ``ext::``, another folder) is refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from orchestra.integrations.github.errors import GitError, RemoteNotAllowedError
from orchestra.integrations.github.settings import GithubSettings
from orchestra.tools.netguard import policy_from, resolve_checked
from orchestra.tools.protocol import ToolSettings
from orchestra.tools.sandbox import SAFE_PATH

_SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("core.pager", "cat"),
    ("core.editor", "false"),
    ("core.sshCommand", "false"),
    ("core.askPass", ""),
    ("diff.external", ""),
    ("credential.helper", ""),
    ("protocol.allow", "never"),
    ("protocol.https.allow", "always"),
    ("http.followRedirects", "false"),
    ("submodule.recurse", "false"),
    ("init.defaultBranch", "main"),
    ("advice.detachedHead", "false"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
)


@dataclass(frozen=True)
class Remote:
    """A remote git may use: its URL and, for https, the origin its credentials are for."""

    url: str
    origin: str | None
    """``https://host[:port]/`` for https remotes (where the token may go); None for local."""


async def check_remote(url: str, github: GithubSettings, tools: ToolSettings) -> Remote:
    """Refuse any remote the project did not allow; see the module docstring."""
    hosts = ", ".join(github.hosts) or "none"
    if url.startswith("https://"):
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise RemoteNotAllowedError(
                "credentials in the remote URL are refused; the token comes from "
                "[plugins.github] token"
            )
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        if netloc.lower() not in [h.lower() for h in github.hosts]:
            raise RemoteNotAllowedError(
                f"git may not reach {netloc!r} (allowed hosts: {hosts}); add it to "
                "[plugins.github] hosts in orchestra.toml"
            )
        policy = policy_from(tools.allow_private_network, tools.http_allowed_networks)
        await resolve_checked(host, parts.port or 443, policy)
        return Remote(url, f"https://{netloc}/")
    if url.startswith("file://") or url.startswith("/"):
        return _local_remote(url, github)
    raise RemoteNotAllowedError(
        f"remote {url!r} refused: use an https:// URL on an allowed host ({hosts}); ssh, "
        "git://, ext:: and other transports are not allowed"
    )


def _local_remote(url: str, github: GithubSettings) -> Remote:
    path = Path(os.path.realpath(url.removeprefix("file://")))
    for allowed in github.local_remotes:
        root = Path(os.path.realpath(allowed))
        if path == root or root in path.parents:
            return Remote(str(path), None)
    listed = ", ".join(str(p) for p in github.local_remotes) or "none"
    raise RemoteNotAllowedError(
        f"the local repository {path} is not in [plugins.github] local_remotes "
        f"(listed: {listed}); add it there to let agents use it"
    )


def git_environment(
    workspace: Path, github: GithubSettings, *, remote: Remote | None, token: str | None
) -> dict[str, str]:
    """The whole environment of one git process (nothing inherited from Orchestra's)."""
    config = list(_SAFE_CONFIG)
    if github.local_remotes:
        config.append(("protocol.file.allow", "always"))
    if github.ca_file is not None:
        config.append(("http.sslCAInfo", str(github.ca_file)))
    if remote is not None and remote.origin is not None and token:
        basic = base64.b64encode(f"{github.username}:{token}".encode()).decode()
        config.append((f"http.{remote.origin}.extraHeader", f"Authorization: Basic {basic}"))
    env = {
        "PATH": SAFE_PATH,
        "HOME": str(workspace),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_AUTHOR_NAME": github.author_name,
        "GIT_AUTHOR_EMAIL": github.author_email,
        "GIT_COMMITTER_NAME": github.author_name,
        "GIT_COMMITTER_EMAIL": github.author_email,
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for i, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


@dataclass(frozen=True)
class GitOutcome:
    code: int
    stdout: str
    stderr: str


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret (and its Basic-auth form) replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


async def run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    max_chars: int,
    secrets: Sequence[str] = (),
    check: bool = True,
) -> GitOutcome:
    """Run ``git *args`` in ``cwd``; :class:`GitError` on timeout, or on failure if ``check``."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise GitError(
            f"git {args[0]} did not finish within {timeout_s:g} s ([plugins.github] git_timeout_s)",
            retryable=True,
        ) from exc
    stdout = scrub(out.decode(errors="replace"), secrets)[:max_chars]
    stderr = scrub(err.decode(errors="replace"), secrets)[:max_chars]
    code = proc.returncode or 0
    if check and code != 0:
        raise GitError(
            f"git {args[0]} failed (exit code {code}): {stderr.strip() or stdout.strip()}"
        )
    return GitOutcome(code, stdout, stderr)


__all__ = ["GitOutcome", "Remote", "check_remote", "git_environment", "run_git", "scrub"]
