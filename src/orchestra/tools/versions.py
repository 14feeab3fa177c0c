"""Tool versions and the version pins agents put on them (``checklist.add@^1``).

Every tool carries a semver string: built-ins ``1.0.0``, plugins their own, MCP tools
the version their server reports at initialisation (``0.0.0`` when it reports none).
An agent file's ``tools:`` entry may end in ``@<range>``; the range is a
:class:`packaging.specifiers.SpecifierSet` (``>=1,<2``) or an npm-style shorthand
translated here, because the packaging library knows neither:

* ``^1.2.3`` → ``>=1.2.3,<2.0.0``; ``^0.2.3`` → ``>=0.2.3,<0.3.0``; ``^0.0.3`` → ``>=0.0.3,<0.0.4``
* ``~1.2.3`` → ``>=1.2.3,<1.3.0``; ``~1`` → ``>=1,<2``
* a bare version ``1.2.0`` → ``==1.2.0``

A pin exists so that a tool whose behaviour changed (a new major version) is never
silently handed to an agent written against the old one: the view refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from orchestra.errors import UserMistake

DEFAULT_VERSION = "1.0.0"
UNKNOWN_VERSION = "0.0.0"
_SHORTHAND = re.compile(r"^([\^~])\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_BARE = re.compile(r"^\d+(\.\d+)*$")


class VersionPinError(UserMistake, ValueError):
    """A ``@range`` that is neither a specifier set nor ``^``/``~`` shorthand: a mistake
    in an agent file, so it is in the user-mistake family (still a ``ValueError`` for
    pydantic validators)."""


@dataclass(frozen=True)
class ToolPin:
    """One entry of an agent's tool list: a name pattern and an optional version range."""

    pattern: str
    spec: SpecifierSet | None = None
    text: str = ""
    """The range as written (for messages)."""
    invalid: str | None = None
    """Why the range could not be parsed; such a pin admits no version."""

    def admits(self, version: str) -> bool:
        """Whether a tool of ``version`` satisfies this pin (always, without a range)."""
        if self.invalid is not None:
            return False
        if self.spec is None:
            return True
        parsed = parse_version(version)
        return parsed is not None and self.spec.contains(parsed, prereleases=True)


def parse_version(text: str) -> Version | None:
    """``text`` as a version, or None when it is not one (such a tool fails every pin)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def translate_range(text: str) -> str:
    """A ``^``/``~``/bare range as the equivalent PEP 440 specifier set string."""
    text = text.strip()
    match = _SHORTHAND.match(text)
    if match:
        op, major_s, minor_s, patch_s = match.groups()
        major, minor, patch = int(major_s), int(minor_s or 0), int(patch_s or 0)
        low = ".".join(p for p in (major_s, minor_s, patch_s) if p is not None)
        if op == "~":
            upper = f"{major}.{minor + 1}.0" if minor_s is not None else f"{major + 1}"
        elif major > 0 or minor_s is None:
            upper = f"{major + 1}.0.0"
        elif minor > 0 or patch_s is None:
            upper = f"0.{minor + 1}.0"
        else:
            upper = f"0.0.{patch + 1}"
        return f">={low},<{upper}"
    if _BARE.match(text):
        return f"=={text}"
    return text


def parse_range(text: str) -> SpecifierSet:
    """A version range as written after ``@``; :class:`VersionPinError` says what is allowed."""
    try:
        spec = SpecifierSet(translate_range(text))
    except InvalidSpecifier as exc:
        raise VersionPinError(
            f"invalid version range {text!r}: write '^1', '~1.2', '1.0.0' or a specifier "
            "set such as '>=1,<2'"
        ) from exc
    if not text.strip():
        raise VersionPinError("empty version range after '@': write e.g. 'files.read@^1'")
    return spec


def parse_pin(entry: str) -> ToolPin:
    """``files.read@>=1,<2`` → ToolPin('files.read', SpecifierSet('<2,>=1'))."""
    pattern, sep, rng = entry.partition("@")
    if not sep:
        return ToolPin(entry)
    return ToolPin(pattern, parse_range(rng), rng)


def pattern_of(entry: str) -> str:
    """The name pattern of a tool-list entry, without its version range."""
    return entry.partition("@")[0]
