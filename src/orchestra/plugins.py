"""Typed registries of named plugins, filled by built-ins and entry points alike.

Executors (group ``orchestra.executors``) and model providers
(``orchestra.models``) are each found through one :class:`Registry`; tools keep
their richer :class:`~orchestra.tools.registry.ToolRegistry` (sources,
allowlists, calls that never raise) but read the ``orchestra.tools`` group the
same way. Orchestra's own built-ins are declared as entry points in
``pyproject.toml``, so a plugin distribution is found exactly like they are::

    [project.entry-points."orchestra.executors"]
    celery = "orchestra_celery:CeleryExecutor"

An entry point is only imported when its name is first asked for, so listing
what is installed stays cheap. An unknown name raises :class:`UnknownPlugin`,
which lists what is registered; a plugin that fails to import or is of the
wrong kind raises :class:`PluginFailed` naming the distribution.

This module imports nothing beyond the standard library and
:mod:`orchestra.errors`: every layer, the engine included, may use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar, Generic, TypeGuard, TypeVar

from orchestra.errors import NotFoundMistake, UserMistake

__all__ = ["PluginFailed", "Registry", "UnknownPlugin"]

T = TypeVar("T")


class UnknownPlugin(NotFoundMistake):
    """No plugin of that kind is registered under the name asked for."""

    code: ClassVar[str] = "unknown_plugin"

    def __init__(self, kind: str, name: str, known: Iterable[str], group: str) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        close = difflib.get_close_matches(name, self.known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        super().__init__(
            f"no {kind} named {name!r}.{hint} Registered: {', '.join(self.known) or 'none'}. "
            f"Install the distribution that provides it (entry-point group {group!r}); in a "
            "source checkout, `uv sync` refreshes the entry points of Orchestra's own."
        )


class PluginFailed(UserMistake):
    """A registered plugin could not be loaded, or is not the kind of object its group needs."""

    code: ClassVar[str] = "plugin_failed"


class Registry(Generic[T]):
    """Named plugins of one kind. Not a global: build one per process (a builder does).

    ``accepts`` checks a loaded entry point is a ``T`` (``expected`` describes one,
    for the error message).
    """

    def __init__(
        self,
        kind: str,
        group: str,
        accepts: Callable[[object], TypeGuard[T]],
        expected: str,
    ) -> None:
        self.kind = kind
        self.group = group
        self._accepts = accepts
        self._expected = expected
        self._items: dict[str, T] = {}
        self._pending: dict[str, EntryPoint] = {}

    def register(self, name: str, item: T, *, replace: bool = False) -> None:
        """Add ``item`` under ``name``; a second registration of a name needs ``replace``."""
        if not replace and (name in self._items or name in self._pending):
            raise PluginFailed(
                f"{self.kind} {name!r} is registered twice; rename one, or pass replace=True"
            )
        if not self._accepts(item):
            raise PluginFailed(f"{self.kind} {name!r} is {item!r}; expected {self._expected}")
        self._pending.pop(name, None)
        self._items[name] = item

    def add_entry_points(self, eps: Iterable[EntryPoint] | None = None) -> Registry[T]:
        """Record the entry points of this registry's group (loaded on first use).

        ``eps`` defaults to the installed ones. A name already registered keeps its
        first registration when both point at the same object, and is an error otherwise.
        """
        for ep in eps if eps is not None else entry_points(group=self.group):
            earlier = self._pending.get(ep.name)
            if earlier is not None and earlier.value != ep.value:
                raise PluginFailed(
                    f"{self.kind} {ep.name!r} is provided twice, by {_dist(earlier)} "
                    f"({earlier.value}) and {_dist(ep)} ({ep.value}); uninstall one of them"
                )
            if ep.name not in self._items:
                self._pending[ep.name] = ep
        return self

    def names(self) -> list[str]:
        return sorted({*self._items, *self._pending})

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._pending

    def get(self, name: str) -> T:
        """The plugin registered as ``name``, imported now if it came from an entry point."""
        item = self._items.get(name)
        if item is not None:
            return item
        ep = self._pending.get(name)
        if ep is None:
            raise UnknownPlugin(self.kind, name, self.names(), self.group)
        try:
            loaded = ep.load()
        except Exception as exc:  # boundary: arbitrary plugin code
            raise PluginFailed(
                f"{self.kind} {name!r} from {_dist(ep)} ({ep.value}) failed to load: "
                f"{type(exc).__name__}: {exc}; reinstall or remove that distribution"
            ) from exc
        if not self._accepts(loaded):
            raise PluginFailed(
                f"{self.kind} {name!r} from {_dist(ep)} ({ep.value}) is "
                f"{type(loaded).__name__}; expected {self._expected}"
            )
        del self._pending[name]
        self._items[name] = loaded
        return loaded

    def load_all(self) -> tuple[dict[str, T], list[str]]:
        """Every plugin by name, and the failures as messages (one broken plugin must not
        disable the rest; the caller logs them)."""
        loaded: dict[str, T] = {}
        problems: list[str] = []
        for name in self.names():
            try:
                loaded[name] = self.get(name)
            except PluginFailed as exc:
                problems.append(str(exc))
        return loaded, problems


def _dist(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "an unknown distribution"
