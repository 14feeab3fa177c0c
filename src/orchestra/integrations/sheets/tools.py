"""``sheet.read``, ``sheet.append`` and ``sheet.update``: Shaun's spreadsheet tools.

A ``sheet`` argument is a workspace path ending in ``.csv`` or ``.xlsx``, or a
Google Sheets address (``https://docs.google.com/spreadsheets/d/<id>`` or
``gsheet:<id>``) when ``[plugins.sheets] google_service_account`` is set. The
first row is the header; rows are read and written as records keyed by it.
Limits come from ``[plugins.sheets]`` (rows, columns, cell size, file size,
time); local files are written atomically (:mod:`.local`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from orchestra.integrations.sheets import local
from orchestra.integrations.sheets.google import GoogleSheet, is_google, spreadsheet_key
from orchestra.integrations.sheets.settings import SheetsSettings
from orchestra.integrations.sheets.table import Cell, Table, append_rows, update_rows
from orchestra.tools.errors import ToolArgumentsError, ToolTimeoutError
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

_SHEET = (
    "A .csv or .xlsx file in the workspace (e.g. 'output/prospects.xlsx'), or a Google Sheets "
    "URL (https://docs.google.com/spreadsheets/d/<id>)."
)
CellValue = str | int | float | bool | None


class ReadArgs(BaseModel):
    sheet: str = Field(min_length=1, description=_SHEET)
    worksheet: str | None = Field(default=None, description="Tab name; default: the first.")
    offset: int = Field(default=0, ge=0, description="Data rows to skip.")
    limit: int = Field(default=200, ge=1, le=10_000, description="Data rows to return at most.")


class AppendArgs(BaseModel):
    sheet: str = Field(min_length=1, description=_SHEET + " A missing file is created.")
    rows: list[dict[str, CellValue]] | list[list[CellValue]] = Field(
        min_length=1,
        description="Rows to add: objects keyed by column name (a new sheet takes its header "
        "from the first object's keys), or lists of cells in column order.",
    )
    worksheet: str | None = Field(default=None, description="Tab name; default: the first.")


class UpdateArgs(BaseModel):
    sheet: str = Field(min_length=1, description=_SHEET)
    values: dict[str, CellValue] = Field(
        description='Columns to set, e.g. {"status": "contacted"}.'
    )
    where: dict[str, CellValue] | None = Field(
        default=None, description='Change every row whose cells equal these, e.g. {"name": "Ada"}.'
    )
    row: int | None = Field(default=None, ge=1, description="Or: the data row number (1 = first).")
    worksheet: str | None = Field(default=None, description="Tab name; default: the first.")


def _settings(ctx: ToolContext) -> SheetsSettings:
    return ctx.plugin_settings("sheets", SheetsSettings)


async def _bounded(
    ctx: ToolContext, what: str, work: Callable[[], Awaitable[ToolOutput]]
) -> ToolOutput:
    limit = _settings(ctx).timeout_s
    try:
        async with asyncio.timeout(limit):
            return await work()
    except TimeoutError as exc:
        raise ToolTimeoutError(
            f"{what} took longer than {limit:g} s ([plugins.sheets] timeout_s)"
        ) from exc


async def _load_local(ctx: ToolContext, args: Any, s: SheetsSettings) -> Table | None:
    return await asyncio.to_thread(local.load, ctx.workspace, args.sheet, args.worksheet, s)


async def read(args: ReadArgs, ctx: ToolContext) -> ToolOutput:
    s = _settings(ctx)
    if is_google(args.sheet):
        table: Table | None = await GoogleSheet(ctx, s).load(
            spreadsheet_key(args.sheet), args.worksheet
        )
    else:
        table = await _load_local(ctx, args, s)
        if table is None:
            raise ToolArgumentsError(f"{args.sheet} does not exist; create it with sheet.append")
    assert table is not None
    records = table.records(args.offset, args.limit)
    shown = f"rows {args.offset + 1}-{args.offset + len(records)} of {len(table.rows)}"
    return ToolOutput(
        text=f"{args.sheet}: columns {', '.join(table.header)}; {shown}\n"
        + json.dumps(records, ensure_ascii=False, indent=1),
        data={"columns": table.header, "rows": records, "total": len(table.rows)},
    )


async def append(args: AppendArgs, ctx: ToolContext) -> ToolOutput:
    s = _settings(ctx)
    if len(args.rows) > s.max_rows:
        raise ToolArgumentsError(f"{len(args.rows)} rows, over the {s.max_rows}-row limit")
    if is_google(args.sheet):
        sheet = GoogleSheet(ctx, s)
        key = spreadsheet_key(args.sheet)
        table = await sheet.load(key, args.worksheet)
        empty = not table.header
        before = len(table.rows)
        count = append_rows(table, args.rows, max_chars=s.max_cell_chars)
        header: list[Cell] = list(table.header)
        await sheet.append(key, args.worksheet, ([header] if empty else []) + table.rows[before:])
    else:
        existing = await _load_local(ctx, args, s)
        table = existing or Table(header=[])
        before = len(table.rows)
        count = append_rows(table, args.rows, max_chars=s.max_cell_chars)
        touched = range(before, len(table.rows))
        await asyncio.to_thread(
            local.store, ctx.workspace, args.sheet, args.worksheet, table, s, touched
        )
    return ToolOutput(
        text=f"appended {count} row(s) to {args.sheet}; it now has {len(table.rows)} data rows",
        data={"appended": count, "total": len(table.rows), "columns": table.header},
    )


async def update(args: UpdateArgs, ctx: ToolContext) -> ToolOutput:
    s = _settings(ctx)
    google = is_google(args.sheet)
    if google:
        sheet = GoogleSheet(ctx, s)
        key = spreadsheet_key(args.sheet)
        table: Table | None = await sheet.load(key, args.worksheet)
    else:
        table = await _load_local(ctx, args, s)
        if table is None:
            raise ToolArgumentsError(f"{args.sheet} does not exist; create it with sheet.append")
    assert table is not None
    changed = update_rows(
        table,
        args.values,
        where=args.where,
        row=args.row,
        max_chars=s.max_cell_chars,
        max_rows=s.max_rows,
    )
    if changed:
        if google:
            await sheet.update(key, args.worksheet, table, changed)
        else:
            touched = [n - 1 for n in changed]
            await asyncio.to_thread(
                local.store, ctx.workspace, args.sheet, args.worksheet, table, s, touched
            )
    return ToolOutput(
        text=f"updated {len(changed)} row(s) of {args.sheet}"
        + (f": rows {', '.join(map(str, changed))}" if changed else " (nothing matched)"),
        data={"updated": changed},
    )


@tool("sheet.read", permission=Permission.READ)
async def sheet_read(args: ReadArgs, ctx: ToolContext) -> ToolOutput:
    """Read rows of a spreadsheet (CSV/XLSX in the workspace, or Google Sheets) as records
    keyed by the header row."""
    return await _bounded(ctx, f"reading {args.sheet}", lambda: read(args, ctx))


@tool("sheet.append", permission=Permission.WRITE)
async def sheet_append(args: AppendArgs, ctx: ToolContext) -> ToolOutput:
    """Add rows at the end of a spreadsheet; a missing CSV/XLSX file is created with a header
    taken from the first record's keys."""
    return await _bounded(ctx, f"appending to {args.sheet}", lambda: append(args, ctx))


@tool("sheet.update", permission=Permission.WRITE)
async def sheet_update(args: UpdateArgs, ctx: ToolContext) -> ToolOutput:
    """Change cells of existing rows, chosen by row number or by matching cells (where)."""
    return await _bounded(ctx, f"updating {args.sheet}", lambda: update(args, ctx))


TOOLS: tuple[Tool, ...] = (sheet_read, sheet_append, sheet_update)
