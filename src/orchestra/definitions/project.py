"""A project folder's definitions, loaded together and kept fresh.

:class:`Project` finds every ``*.agent.md`` and ``*.workflow.md`` under a
folder (plus the skill files agents link to), parses them, links workflows
to agents and collects every diagnostic. :meth:`Project.refresh` re-reads
only files whose size or modification time changed, then re-links, so the
server can pick up edits without a restart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from orchestra.definitions.agent_file import parse_agent
from orchestra.definitions.diagnostics import (
    Code,
    DefinitionError,
    Diagnostic,
    choices_hint,
    outside_project,
)
from orchestra.definitions.frontmatter import FrontMatter, split_front_matter
from orchestra.definitions.skill_file import parse_skill
from orchestra.definitions.source_files import SourceText, read_source
from orchestra.definitions.specs import AgentSpec, SkillSpec, WorkflowSpec
from orchestra.definitions.workflow_file import RawWorkflow, read_workflow
from orchestra.definitions.workflow_graph import link_workflow

AGENT_SUFFIX = ".agent.md"
WORKFLOW_SUFFIX = ".workflow.md"
_SKIP_DIRS = {".orchestra", ".git", ".venv", "node_modules", "__pycache__"}

T = TypeVar("T")

ProjectCheck = Callable[["Project"], list[Diagnostic]]
"""A check that needs more than the files (settings, the tool registry): it runs after
every load and refresh, and its errors keep the workflows they touch from running."""


@dataclass(slots=True)
class _Parsed(Generic[T]):
    stamp: tuple[int, int]
    digest: str
    value: T
    diagnostics: list[Diagnostic]
    deps: tuple[Path, ...] = ()
    """Other files this one read (an agent's skills): a change to them re-parses it."""


class Project:
    """Every definition under ``root``; build with :meth:`load`."""

    def __init__(
        self, root: Path, allowed: Sequence[Path] = (), checks: Sequence[ProjectCheck] = ()
    ) -> None:
        self.root = root.resolve()
        self.allowed = (self.root, *(self.root / p for p in allowed))
        """Folders definition files may live in once symlinks are resolved: the project,
        plus what settings allow explicitly (``[definitions] allow_paths``)."""
        self.allowed = tuple(p.resolve() for p in self.allowed)
        self._outside: list[Diagnostic] = []
        self._checks = tuple(checks)
        self.agents: dict[str, AgentSpec] = {}
        self.workflows: dict[str, WorkflowSpec] = {}
        self.diagnostics: list[Diagnostic] = []
        self._agent_files: dict[Path, _Parsed[AgentSpec | None]] = {}
        self._skill_files: dict[Path, _Parsed[SkillSpec | None]] = {}
        self._workflow_files: dict[Path, _Parsed[RawWorkflow]] = {}
        self._agents_by_path: dict[Path, AgentSpec] = {}

    @classmethod
    def load(
        cls, root: Path, allowed: Sequence[Path] = (), checks: Sequence[ProjectCheck] = ()
    ) -> Project:
        project = cls(root, allowed, checks)
        project.refresh()
        return project

    @property
    def ok(self) -> bool:
        """No errors (warnings, such as tools only an MCP server will reveal, are fine)."""
        return not any(d.severity == "error" for d in self.diagnostics)

    def field_position(self, path: Path, key: str, index: int | None = None) -> tuple[int, int]:
        """Where front-matter ``key`` (or item ``index`` of its list) is written in ``path``,
        so checks made outside this package can point at the line."""
        text = read_source(path).text
        if text is None:
            return 1, 1
        fm = split_front_matter(path, text)
        items = fm.item_lines.get(key, [])
        if index is not None and index < len(items):
            return items[index]
        return fm.value_lines.get(key, fm.position(key))

    def problems_in(self, path: Path) -> list[Diagnostic]:
        """Diagnostics for ``path`` and for the agent and skill files it uses."""
        path = path.resolve()
        used = {path}
        parsed = self._workflow_files.get(path)
        if parsed is not None:
            for step in parsed.value.steps:
                agent = step.bullets.get("Agent")
                if agent is None:
                    continue
                if "(" in agent.value:
                    target = (path.parent / agent.value.split("(", 1)[1].rstrip(")")).resolve()
                elif agent.value.strip() in self.agents:
                    target = self.agents[agent.value.strip()].path.resolve()
                else:
                    continue
                used.add(target)
                agent_file = self._agent_files.get(target)
                used.update(agent_file.deps if agent_file else ())
        return [d for d in self.diagnostics if d.path.resolve() in used]

    def workflow(self, name: str) -> WorkflowSpec:
        """The named workflow, or DefinitionError saying why it is unavailable."""
        if name in self.workflows:
            return self.workflows[name]
        for path, parsed in self._workflow_files.items():
            if _workflow_name(parsed.value) == name or path.name == name:
                raise DefinitionError(
                    self.problems_in(path) or [_not_found(self.root, name, self.workflows)]
                )
        raise DefinitionError([_not_found(self.root, name, self.workflows)])

    def refresh(self) -> set[str]:
        """Re-read changed files and re-link; return names of workflows and agents that changed."""
        before = {**self._fingerprints()}
        self._outside = []
        agent_paths = sorted(self._find(AGENT_SUFFIX))
        workflow_paths = sorted(self._find(WORKFLOW_SUFFIX))
        self._skill_files = {p: v for p, v in self._skill_files.items() if p.exists()}
        self._agent_files = self._reread(self._agent_files, agent_paths, self._parse_agent)
        self._workflow_files = self._reread(
            self._workflow_files, workflow_paths, self._parse_workflow
        )
        self._link()
        after = self._fingerprints()
        return {
            name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
        }

    # AgentResolver -----------------------------------------------------------

    def allows(self, path: Path) -> bool:
        """Whether ``path`` (symlinks resolved) is inside the project or an allowed folder."""
        real = path.resolve()
        return any(real.is_relative_to(folder) for folder in self.allowed)

    def agent_at(self, path: Path) -> tuple[AgentSpec | None, bool]:
        path = path.resolve()
        if not self.allows(path):
            return None, False
        if path not in self._agent_files and path.is_file():
            self._agent_files[path] = self._parse_agent(path, read_source(path))
        spec = self._agents_by_path.get(path)
        if spec is None and path in self._agent_files:
            spec = self._agent_files[path].value
        return spec, path.is_file()

    def agent_named(self, name: str) -> AgentSpec | None:
        return self.agents.get(name)

    def agent_names(self) -> list[str]:
        return sorted(self.agents)

    # internals ---------------------------------------------------------------

    def _find(self, suffix: str) -> Iterator[Path]:
        for path in self.root.rglob(f"*{suffix}"):
            if path.is_file() and not _SKIP_DIRS.intersection(path.relative_to(self.root).parts):
                if self.allows(path):
                    yield path.resolve()
                else:
                    self._outside.append(
                        outside_project(path, path.relative_to(self.root), 1, 1, path)
                    )

    def _reread(
        self,
        cache: dict[Path, _Parsed[T]],
        paths: list[Path],
        parse: Callable[[Path, SourceText], _Parsed[T]],
    ) -> dict[Path, _Parsed[T]]:
        fresh: dict[Path, _Parsed[T]] = {}
        for path in paths:
            old = cache.get(path)
            if old is not None and old.stamp == _stamp(path):
                fresh[path] = old
            else:
                fresh[path] = parse(path, read_source(path))
        return fresh

    def _load_skill(self, path: Path) -> tuple[SkillSpec | None, list[Diagnostic]]:
        old = self._skill_files.get(path)
        if old is None or self._stale(path):
            source = read_source(path)
            text = source.text
            spec, found = (None, source.diagnostics) if text is None else parse_skill(path, text)
            old = _Parsed(_stamp(path), _digest(text or ""), spec, found)
            self._skill_files[path] = old
        return old.value, old.diagnostics

    def _parse_agent(self, path: Path, source: SourceText) -> _Parsed[AgentSpec | None]:
        read: list[Path] = []
        text = source.text
        if text is None:
            return _Parsed(_stamp(path), "", None, source.diagnostics)

        def load_skill(skill: Path) -> tuple[SkillSpec | None, list[Diagnostic]]:
            read.append(skill)
            return self._load_skill(skill)

        spec, found = parse_agent(path, text, load_skill, self.allows)
        return _Parsed(_stamp(path), _digest(text), spec, found, tuple(read))

    def _stale(self, path: Path) -> bool:
        cached = self._skill_files.get(path)
        try:
            return cached is None or cached.stamp != _stamp(path)
        except FileNotFoundError:
            return True

    def _parse_workflow(self, path: Path, source: SourceText) -> _Parsed[RawWorkflow]:
        return _Parsed(_stamp(path), _digest(source.text or ""), _raw_workflow(path, source), [])

    def _link(self) -> None:
        # A skill edit changes the agents that include it: re-parse those agents.
        for path, parsed in list(self._agent_files.items()):
            if any(self._stale(skill) for skill in parsed.deps):
                self._agent_files[path] = self._parse_agent(path, read_source(path))
        diagnostics: list[Diagnostic] = list(self._outside)
        agents: dict[str, AgentSpec] = {}
        self._agents_by_path = {}
        for path, parsed in self._agent_files.items():
            diagnostics += parsed.diagnostics
            spec = parsed.value
            if spec is None:
                continue
            if spec.name in agents:
                diagnostics.append(
                    Diagnostic(
                        path,
                        1,
                        1,
                        Code.DUPLICATE_AGENT,
                        f"agent name '{spec.name}' is also used by {agents[spec.name].path}",
                        "agent names must be unique in a project: set a different 'name:'",
                    )
                )
                continue
            agents[spec.name] = spec
            self._agents_by_path[path] = spec
        self.agents = agents
        workflows: dict[str, WorkflowSpec] = {}
        for path, parsed_wf in self._workflow_files.items():
            spec_wf, found = link_workflow(parsed_wf.value, self, "")
            diagnostics += found
            if spec_wf is None:
                continue
            spec_wf = spec_wf.model_copy(
                update={"source_hash": self._source_hash(parsed_wf, spec_wf)}
            )
            if spec_wf.name in workflows:
                diagnostics.append(
                    Diagnostic(
                        path,
                        1,
                        1,
                        Code.DUPLICATE_WORKFLOW,
                        f"workflow name '{spec_wf.name}' is also used by {workflows[spec_wf.name].path}",
                        "workflow names must be unique in a project: set a different 'name:'",
                    )
                )
                continue
            workflows[spec_wf.name] = spec_wf
        self.workflows = workflows
        checked = [d for check in self._checks for d in check(self)]
        self.diagnostics = sorted(diagnostics + checked, key=lambda d: (str(d.path), d.line, d.col))
        broken = {d.path.resolve() for d in checked if d.severity == "error"}
        if broken:
            self.workflows = {
                name: spec for name, spec in workflows.items() if not _files(spec) & broken
            }

    def _source_hash(self, parsed: _Parsed[RawWorkflow], spec: WorkflowSpec) -> str:
        digest = hashlib.sha256(parsed.digest.encode())
        for agent in sorted(spec.agents.values(), key=lambda a: a.name):
            agent_file = self._agent_files.get(agent.path.resolve())
            digest.update(agent_file.digest.encode() if agent_file else b"")
            for skill in agent.skills:
                skill_file = self._skill_files.get(skill.path)
                digest.update(skill_file.digest.encode() if skill_file else b"")
        return digest.hexdigest()

    def _fingerprints(self) -> dict[str, str]:
        prints = {f"workflow:{n}": w.source_hash for n, w in self.workflows.items()}
        prints.update({f"agent:{n}": a.model_dump_json() for n, a in self.agents.items()})
        return prints


def find_project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds an orchestra.toml, else ``start``'s folder."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "orchestra.toml").is_file():
            return candidate
    if folder.name in ("workflows", "agents", "skills"):
        return folder.parent
    return folder


def load_workflow(
    path: Path, allowed: Sequence[Path] = (), checks: Sequence[ProjectCheck] = ()
) -> WorkflowSpec:
    """Load one workflow file with the agents of its project; raise DefinitionError if invalid."""
    path = path.resolve()
    project = Project.load(find_project_root(path), allowed, checks)
    parsed = project._workflow_files.get(path)
    if parsed is None:  # outside the project tree: parse it on its own
        raw = _raw_workflow(path, read_source(path))
        spec, found = link_workflow(raw, project, "")
        if spec is None:
            raise DefinitionError(found)
        return spec
    problems = project.problems_in(path)
    name = _workflow_name(parsed.value)
    if problems or name not in project.workflows:
        raise DefinitionError(problems)
    return project.workflows[name]


def _files(spec: WorkflowSpec) -> set[Path]:
    """Every file a workflow is made of."""
    files = {a.path.resolve() for a in spec.agents.values()}
    files.update(s.path.resolve() for a in spec.agents.values() for s in a.skills)
    if spec.path is not None:
        files.add(spec.path.resolve())
    return files


def _raw_workflow(path: Path, source: SourceText) -> RawWorkflow:
    if source.text is None:
        empty = FrontMatter({}, {}, {}, {}, {}, "", 1)
        return RawWorkflow(path, empty, [], "", list(source.diagnostics))
    return read_workflow(path, source.text)


def _workflow_name(raw: RawWorkflow) -> str:
    return str(raw.front.data.get("name") or raw.path.name.removesuffix(WORKFLOW_SUFFIX))


def _not_found(root: Path, name: str, workflows: dict[str, WorkflowSpec]) -> Diagnostic:
    return Diagnostic(
        root,
        1,
        1,
        Code.UNKNOWN_WORKFLOW,
        f"no workflow named '{name}' in {root}",
        choices_hint(name, workflows, "Workflows"),
    )


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
