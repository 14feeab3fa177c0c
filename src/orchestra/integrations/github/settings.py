"""``[plugins.github]``: the token, which remotes git may talk to, API limits.

``orchestra.toml``::

    [plugins.github]
    token = "os.environ/GITHUB_TOKEN"      # a secret reference, never the token itself
    hosts = ["github.com"]                 # https remotes git may clone from / push to
    repos = ["acme/*"]                     # owner/name patterns the API tools may touch
    author_name = "Orchestra bot"
    author_email = "bot@example.com"

``local_remotes`` lists absolute paths of repositories on this machine (a bare
repository a team pushes to, a test fixture) that ``git.clone`` may use as a remote;
nothing else outside the workspace is reachable through git.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class GithubSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str | None = None
    username: str = "x-access-token"
    """The user name sent with the token over https (GitHub ignores it for tokens)."""
    api_url: str = "https://api.github.com"
    hosts: list[str] = Field(default_factory=lambda: ["github.com"])
    local_remotes: list[Path] = Field(default_factory=list)
    ca_file: Path | None = None
    """A CA bundle git trusts for https remotes (a company's own certificate authority)."""
    repos: list[str] = Field(default_factory=lambda: ["*"])
    author_name: str = "Orchestra"
    author_email: str = "orchestra@localhost"
    git_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    max_output_chars: int = Field(default=60_000, ge=1000)
    max_list: int = Field(default=100, ge=1, le=1000)

    def repo_allowed(self, repo: str) -> bool:
        return any(fnmatch.fnmatchcase(repo.lower(), p.lower()) for p in self.repos)


__all__ = ["GithubSettings"]
