"""The workspace's citation list: ``research/citations.jsonl``, one source per line.

``web.read`` adds a citation (number, URL, title, author, date, access time, the
run and agent) for every page it reads — once per URL: reading a page again
keeps its number and updates its access time. ``research.brief`` turns the
numbers a text cites (``[1]``, ``[2, 3]``) into a references section.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime

from pydantic import BaseModel

from orchestra.integrations._files import write_atomic
from orchestra.tools.errors import WorkspacePathError
from orchestra.tools.workspace import Workspace

PATH = "research/citations.jsonl"
_MARK_RE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


class Citation(BaseModel):
    number: int
    url: str
    title: str
    accessed: str
    """ISO 8601 UTC time the page was last read."""
    author: str | None = None
    date: str | None = None
    run_id: str = ""
    agent: str = ""

    def reference(self) -> str:
        """One line of a references section."""
        by = f"{self.author}. " if self.author else ""
        published = f" ({self.date})" if self.date else ""
        return f"[{self.number}] {by}{self.title}{published}. {self.url} (accessed {self.accessed[:10]})"


def load(ws: Workspace) -> list[Citation]:
    try:
        with ws.open_file(PATH, os.O_RDONLY) as fd:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
    except WorkspacePathError as exc:
        if "does not exist" in exc.message:
            return []
        raise
    return [
        Citation.model_validate_json(line) for line in b"".join(chunks).splitlines() if line.strip()
    ]


def _save(ws: Workspace, citations: list[Citation]) -> None:
    data = "".join(c.model_dump_json() + "\n" for c in citations).encode()
    write_atomic(ws, PATH, data)


def record(
    ws: Workspace,
    *,
    url: str,
    title: str,
    author: str | None,
    date: str | None,
    run_id: str,
    agent: str,
) -> Citation:
    """Add (or refresh) the citation of ``url`` and return it with its number."""
    citations = load(ws)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for i, existing in enumerate(citations):
        if existing.url == url:
            citations[i] = existing.model_copy(
                update={"accessed": now, "title": title or existing.title}
            )
            _save(ws, citations)
            return citations[i]
    citation = Citation(
        number=len(citations) + 1,
        url=url,
        title=title or url,
        accessed=now,
        author=author,
        date=date,
        run_id=run_id,
        agent=agent,
    )
    citations.append(citation)
    _save(ws, citations)
    return citation


def cited_numbers(text: str) -> list[int]:
    """The citation numbers ``text`` refers to, in first-use order."""
    seen: list[int] = []
    for match in _MARK_RE.finditer(text):
        for part in match.group(1).split(","):
            number = int(part)
            if number not in seen:
                seen.append(number)
    return seen


def dumps(citations: list[Citation]) -> str:
    return json.dumps([c.model_dump() for c in citations], ensure_ascii=False, indent=1)
