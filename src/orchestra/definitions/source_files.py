"""Reading a definition file's bytes into text, the one way every command does it.

``validate``, ``run`` and ``serve`` all load projects through :class:`Project`,
which reads each file here: a file that is not UTF-8, that cannot be read, or
that holds a NUL byte becomes a located :class:`Diagnostic` instead of a
traceback, and a UTF-8 byte-order mark (which some Windows editors write) is
dropped so that the first line is still ``---``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from orchestra.definitions.diagnostics import Code, Diagnostic

BOM = "\ufeff"


@dataclass(slots=True)
class SourceText:
    """A file's text, or ``None`` with the reason it could not be used."""

    text: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def read_source(path: Path) -> SourceText:
    """Read ``path`` as UTF-8 text (BOM stripped); problems are diagnostics, not exceptions."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return SourceText(
            None,
            [
                Diagnostic(
                    path,
                    1,
                    1,
                    Code.UNREADABLE,
                    f"cannot read the file: {reason}",
                    "check that the file exists and that you may read it",
                )
            ],
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        return SourceText(
            None,
            [
                Diagnostic(
                    path,
                    line,
                    col,
                    Code.ENCODING,
                    f"the file is not UTF-8 text (byte 0x{byte} cannot be decoded)",
                    "save the file as UTF-8 in your editor, e.g. `iconv -f latin1 -t utf-8`",
                )
            ],
        )
    return clean_text(path, text)


def clean_text(path: Path, text: str) -> SourceText:
    r"""Drop a leading BOM, make every line end ``\n`` (a lone ``\r`` ends a line for
    some parsers and not for others, which put errors at the wrong place), and refuse
    NUL bytes, in text that did not come from a file (the API's workflow check) as well
    as in text that did."""
    text = text.removeprefix(BOM).replace("\r\n", "\n").replace("\r", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        return SourceText(
            None,
            [
                Diagnostic(
                    path,
                    line,
                    col,
                    Code.INVALID_CHARACTER,
                    "the file contains a NUL byte (\\0)",
                    "remove it: definition files are plain text, and a NUL often means "
                    "the file is binary or was saved as UTF-16",
                )
            ],
        )
    return SourceText(text)
