"""CSV and XLSX files in the workspace, loaded into and stored from a :class:`Table`.

Files are opened through :class:`~orchestra.tools.workspace.Workspace` (relative
paths, no ``..``, no symlinks, no ``.git/``) and written atomically: the new file
is written beside the old one under a temporary name and renamed over it inside
the same directory fd, so a failure mid-write never leaves half a sheet. XLSX
goes through openpyxl; other worksheets of a workbook are kept as they were.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from typing import Any

from orchestra.integrations._deps import missing_extra
from orchestra.integrations._files import write_atomic
from orchestra.integrations.sheets.settings import SheetsSettings
from orchestra.integrations.sheets.table import Cell, Table
from orchestra.tools.errors import ToolArgumentsError, WorkspacePathError
from orchestra.tools.workspace import Workspace

FORMATS = (".csv", ".xlsx")


def file_format(path: str) -> str:
    lowered = path.lower()
    for ext in FORMATS:
        if lowered.endswith(ext):
            return ext
    raise ToolArgumentsError(
        f"{path!r} is not a sheet: use a .csv or .xlsx file in the workspace, or a Google "
        "Sheets URL (https://docs.google.com/spreadsheets/d/...)"
    )


def read_bytes(ws: Workspace, path: str, settings: SheetsSettings) -> bytes | None:
    """The file's bytes, or None when it does not exist yet."""
    parts = ws.split(path)
    limit = int(settings.max_file_mb * 1_000_000)
    try:
        with ws.open_file(parts, os.O_RDONLY) as fd:
            size = os.fstat(fd).st_size
            if size > limit:
                raise ToolArgumentsError(
                    f"{path} is {size} bytes, over the {settings.max_file_mb:g} MB limit "
                    "([plugins.sheets] max_file_mb)"
                )
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
    except WorkspacePathError as exc:
        if "does not exist" in exc.message:
            return None
        raise


def load(ws: Workspace, path: str, worksheet: str | None, settings: SheetsSettings) -> Table | None:
    """The sheet at ``path`` as a table (None when the file does not exist)."""
    fmt = file_format(path)
    data = read_bytes(ws, path, settings)
    if data is None:
        return None
    rows = _csv_rows(data, path) if fmt == ".csv" else _xlsx_rows(data, path, worksheet)
    if len(rows) > settings.max_rows + 1:
        raise ToolArgumentsError(
            f"{path} has {len(rows) - 1} data rows, over the {settings.max_rows}-row limit "
            "([plugins.sheets] max_rows)"
        )
    header = ["" if c is None else str(c) for c in (rows[0] if rows else [])]
    return Table(header=header, rows=[list(r) for r in rows[1:]])


def store(
    ws: Workspace,
    path: str,
    worksheet: str | None,
    table: Table,
    settings: SheetsSettings,
    touched: Iterable[int],
) -> None:
    """Write ``table`` back. ``touched``: the data rows (0-based) that changed or were added;
    an existing XLSX gets only those rows (and the header) written, so formulas, styles and
    other cells stay as they were."""
    fmt = file_format(path)
    if len(table.header) > settings.max_columns:
        raise ToolArgumentsError(
            f"{len(table.header)} columns, over the {settings.max_columns}-column limit"
        )
    if len(table.rows) > settings.max_rows:
        raise ToolArgumentsError(
            f"{len(table.rows)} rows, over the {settings.max_rows}-row limit "
            "([plugins.sheets] max_rows)"
        )
    if fmt == ".csv":
        buf = io.StringIO(newline="")
        writer = csv.writer(buf)
        writer.writerow(table.header)
        writer.writerows([["" if c is None else c for c in row] for row in table.rows])
        write_atomic(ws, path, buf.getvalue().encode("utf-8"))
    else:
        old = read_bytes(ws, path, settings)
        write_atomic(ws, path, _xlsx_bytes(old, worksheet, table, sorted(set(touched))))


def _csv_rows(data: bytes, path: str) -> list[list[Cell]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ToolArgumentsError(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        ) from exc
    try:
        return [list(row) for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise ToolArgumentsError(f"{path} is not valid CSV: {exc}") from exc


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError as exc:
        raise missing_extra("openpyxl", exc) from exc
    return openpyxl


def _xlsx_rows(data: bytes, path: str, worksheet: str | None) -> list[list[Cell]]:
    openpyxl = _openpyxl()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # boundary: openpyxl raises zipfile, KeyError, InvalidFileException...
        raise ToolArgumentsError(f"{path} is not a readable XLSX workbook: {exc}") from exc
    try:
        sheet = _worksheet(book, worksheet, path)
        rows: list[list[Cell]] = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([_plain(v) for v in row])
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        return rows
    finally:
        book.close()


def _worksheet(book: Any, name: str | None, path: str) -> Any:
    if name is None:
        return book.worksheets[0]
    if name not in book.sheetnames:
        raise ToolArgumentsError(
            f"{path} has no worksheet {name!r}; it has: {', '.join(book.sheetnames)}"
        )
    return book[name]


def _plain(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # dates and times come back as ISO text


def _xlsx_bytes(
    old: bytes | None, worksheet: str | None, table: Table, touched: list[int]
) -> bytes:
    openpyxl = _openpyxl()
    if old is None:
        book = openpyxl.Workbook()
        sheet = book.active
        if worksheet:
            sheet.title = worksheet
        touched = list(range(len(table.rows)))
    else:
        book = openpyxl.load_workbook(io.BytesIO(old))
        if worksheet is not None and worksheet not in book.sheetnames:
            sheet = book.create_sheet(worksheet)
            touched = list(range(len(table.rows)))
        else:
            sheet = book[worksheet] if worksheet else book.worksheets[0]
    for column, name in enumerate(table.header, 1):
        if sheet.cell(row=1, column=column).value != name:
            sheet.cell(row=1, column=column, value=name)
    for index in touched:
        for column, value in enumerate(table.rows[index], 1):
            sheet.cell(row=index + 2, column=column, value=value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
