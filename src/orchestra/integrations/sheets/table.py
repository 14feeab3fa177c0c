"""A sheet in memory: a header row and data rows, with the checks every backend shares.

CSV, XLSX and Google Sheets all come down to a :class:`Table` — the header (the
first row) and the rows after it — so appending and updating are written once:
:func:`append_rows` and :func:`update_rows` change a table and say what they did,
and each backend only loads and stores tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orchestra.tools.errors import ToolArgumentsError

Cell = str | int | float | bool | None


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    def records(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Cell]]:
        """Rows as ``{column: value}``; cells past the header are named ``column_N``."""
        chosen = self.rows[offset : None if limit is None else offset + limit]
        out = []
        for row in chosen:
            names = [*self.header, *(f"column_{i + 1}" for i in range(len(self.header), len(row)))]
            out.append({name: (row[i] if i < len(row) else None) for i, name in enumerate(names)})
        return out


def _column_index(table: Table, name: str, what: str) -> int:
    try:
        return table.header.index(name)
    except ValueError:
        known = ", ".join(table.header) or "(the sheet has no header)"
        raise ToolArgumentsError(f"{what}: no column {name!r}; the columns are: {known}") from None


def check_cell(value: object, max_chars: int) -> Cell:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ToolArgumentsError(
            f"cell value {value!r} is a {type(value).__name__}; cells are text, numbers, "
            "true/false or null"
        )
    if isinstance(value, str) and len(value) > max_chars:
        raise ToolArgumentsError(
            f"a cell has {len(value)} characters, over the {max_chars}-character limit"
        )
    return value


def append_rows(
    table: Table,
    rows: Sequence[Mapping[str, object] | Sequence[object]],
    *,
    max_chars: int,
) -> int:
    """Append ``rows`` (records by column name, or lists in column order); return how many.

    An empty table takes its header from the first record's keys. A record naming a
    column the sheet lacks is refused (the error lists the columns), never silently dropped.
    """
    if not table.header and rows and isinstance(rows[0], Mapping):
        table.header = [str(k) for k in rows[0]]
    added: list[list[Cell]] = []
    for number, row in enumerate(rows, 1):
        if isinstance(row, Mapping):
            unknown = [k for k in row if k not in table.header]
            if unknown:
                raise ToolArgumentsError(
                    f"row {number}: column(s) {', '.join(map(repr, unknown))} are not in the "
                    f"sheet; its columns are: {', '.join(table.header)}"
                )
            cells = [check_cell(row.get(name), max_chars) for name in table.header]
        else:
            if table.header and len(row) > len(table.header):
                raise ToolArgumentsError(
                    f"row {number} has {len(row)} cells but the sheet has "
                    f"{len(table.header)} columns ({', '.join(table.header)})"
                )
            cells = [check_cell(v, max_chars) for v in row]
        added.append(cells)
    table.rows += added
    return len(added)


def update_rows(
    table: Table,
    values: Mapping[str, object],
    *,
    where: Mapping[str, object] | None,
    row: int | None,
    max_chars: int,
    max_rows: int,
) -> list[int]:
    """Set ``values`` in the data row number ``row`` (1 = first after the header) or in every
    row whose cells equal ``where``; return the changed rows' numbers."""
    if (where is None) == (row is None):
        raise ToolArgumentsError(
            "give exactly one of row (a data row number) or where (cells to match)"
        )
    if not values:
        raise ToolArgumentsError("set at least one column in values")
    targets = {
        _column_index(table, k, "values"): check_cell(v, max_chars) for k, v in values.items()
    }
    if row is not None:
        if not 1 <= row <= len(table.rows):
            raise ToolArgumentsError(
                f"row {row} does not exist; the sheet has {len(table.rows)} data rows (1-based)"
            )
        chosen = [row]
    else:
        assert where is not None
        tests = [(_column_index(table, k, "where"), v) for k, v in where.items()]
        chosen = [
            i + 1
            for i, cells in enumerate(table.rows)
            if all(_same(cells[c] if c < len(cells) else None, v) for c, v in tests)
        ]
        if len(chosen) > max_rows:
            raise ToolArgumentsError(
                f"where matches {len(chosen)} rows, over the {max_rows}-row limit; narrow it"
            )
    width = len(table.header)
    for number in chosen:
        cells = table.rows[number - 1]
        cells.extend([None] * (width - len(cells)))
        for column, value in targets.items():
            cells[column] = value
    return chosen


def _same(cell: Cell, wanted: object) -> bool:
    """Equal, comparing as text when the types differ (CSV cells are always text)."""
    if cell == wanted:
        return True
    return cell is not None and wanted is not None and str(cell).strip() == str(wanted).strip()
