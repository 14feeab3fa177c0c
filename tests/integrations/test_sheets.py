"""Shaun's sheet tools on real CSV and XLSX files in a workspace, and on Google Sheets at
the HTTP transport (respx standing for Google's token and Sheets endpoints)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import httpx
import openpyxl
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from orchestra.integrations.sheets import register
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.secrets import EnvSecrets

PROSPECTS = [
    {"name": "Anna Schmidt", "title": "CTO", "company": "Kiezware", "city": "Berlin"},
    {"name": "Jonas Weber", "title": "CTO", "company": "Spreeloop", "city": "Berlin"},
]


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()
    register(reg)
    return reg


@pytest.mark.parametrize("path", ["output/prospects.csv", "output/prospects.xlsx"])
async def test_append_creates_the_sheet_then_read_and_update_round_trip(
    registry: ToolRegistry, ctx: ToolContext, path: str
) -> None:
    created = await registry.call("sheet.append", {"sheet": path, "rows": PROSPECTS}, ctx)
    assert created.ok, created.content
    assert (created.data or {})["columns"] == ["name", "title", "company", "city"]
    more = [{"name": "Ute Krause", "title": "CTO", "company": "Wedding Works"}]
    appended = await registry.call("sheet.append", {"sheet": path, "rows": more}, ctx)
    assert (appended.data or {})["total"] == 3
    updated = await registry.call(
        "sheet.update",
        {"sheet": path, "where": {"company": "Spreeloop"}, "values": {"city": "Potsdam"}},
        ctx,
    )
    assert (updated.data or {})["updated"] == [2]
    by_row = await registry.call(
        "sheet.update", {"sheet": path, "row": 3, "values": {"city": "Berlin"}}, ctx
    )
    assert (by_row.data or {})["updated"] == [3]
    read = await registry.call("sheet.read", {"sheet": path}, ctx)
    assert read.ok, read.content
    rows = (read.data or {})["rows"]
    assert [r["city"] for r in rows] == ["Berlin", "Potsdam", "Berlin"]
    assert rows[2]["name"] == "Ute Krause"
    page = await registry.call("sheet.read", {"sheet": path, "offset": 1, "limit": 1}, ctx)
    assert [r["name"] for r in (page.data or {})["rows"]] == ["Jonas Weber"]


async def test_files_on_disk_are_what_other_programs_read(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    await registry.call("sheet.append", {"sheet": "p.csv", "rows": PROSPECTS}, ctx)
    text = (ctx.workspace.root / "p.csv").read_text()
    assert text.splitlines() == [
        "name,title,company,city",
        "Anna Schmidt,CTO,Kiezware,Berlin",
        "Jonas Weber,CTO,Spreeloop,Berlin",
    ]
    await registry.call("sheet.append", {"sheet": "p.xlsx", "rows": PROSPECTS}, ctx)
    book = openpyxl.load_workbook(ctx.workspace.root / "p.xlsx")
    values = list(book.worksheets[0].iter_rows(values_only=True))
    assert values[0] == ("name", "title", "company", "city")
    assert values[2] == ("Jonas Weber", "CTO", "Spreeloop", "Berlin")


async def test_xlsx_updates_keep_formulas_styles_and_other_worksheets(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Deals"
    sheet.append(["name", "amount", "double"])
    sheet.append(["Anna", 10, "=B2*2"])
    sheet.append(["Jonas", 20, "=B3*2"])
    sheet["A1"].font = openpyxl.styles.Font(bold=True)
    book.create_sheet("Notes")["A1"] = "keep me"
    book.save(ctx.workspace.root / "deals.xlsx")

    result = await registry.call(
        "sheet.update",
        {"sheet": "deals.xlsx", "where": {"name": "Jonas"}, "values": {"amount": 25}},
        ctx,
    )
    assert result.ok, result.content
    after = openpyxl.load_workbook(ctx.workspace.root / "deals.xlsx")
    deals = after["Deals"]
    assert deals["B3"].value == 25
    assert deals["C2"].value == "=B2*2"  # a row not touched keeps its formula
    assert deals["A1"].font.bold
    assert after["Notes"]["A1"].value == "keep me"
    notes = await registry.call("sheet.read", {"sheet": "deals.xlsx", "worksheet": "Notes"}, ctx)
    assert (notes.data or {})["columns"] == ["keep me"]


async def test_bad_arguments_get_clear_errors_and_change_nothing(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    await registry.call("sheet.append", {"sheet": "p.csv", "rows": PROSPECTS}, ctx)
    before = (ctx.workspace.root / "p.csv").read_bytes()
    cases = [
        (
            "sheet.append",
            {"sheet": "p.csv", "rows": [{"email": "x@y"}]},
            "'email' are not in the sheet; its columns are: name, title, company, city",
        ),
        ("sheet.update", {"sheet": "p.csv", "values": {"city": "X"}}, "exactly one of row"),
        (
            "sheet.update",
            {"sheet": "p.csv", "row": 9, "values": {"city": "X"}},
            "row 9 does not exist; the sheet has 2 data rows",
        ),
        ("sheet.update", {"sheet": "p.csv", "row": 1, "values": {"nope": "X"}}, "no column 'nope'"),
        ("sheet.read", {"sheet": "notes.txt"}, "use a .csv or .xlsx file"),
        ("sheet.read", {"sheet": "missing.csv"}, "missing.csv does not exist"),
        ("sheet.append", {"sheet": "p.csv", "rows": []}, "rows"),
        (
            "sheet.append",
            {"sheet": "p.csv", "rows": [["a", "b", "c", "d", "e"]]},
            "has 5 cells but the sheet has 4 columns",
        ),
        ("sheet.read", {"sheet": "p.xlsx", "worksheet": "Nope"}, "does not exist"),
    ]
    for name, args, message in cases:
        result = await registry.call(name, args, ctx)
        assert result.status == "error", (name, args)
        assert message in result.content, (result.content, message)
    assert (ctx.workspace.root / "p.csv").read_bytes() == before


async def test_paths_are_confined_to_the_workspace(
    registry: ToolRegistry, ctx: ToolContext, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    (ctx.workspace.root / "link.csv").symlink_to(outside)
    for sheet in ("../outside.csv", str(outside), "link.csv", ".git/x.csv"):
        result = await registry.call("sheet.append", {"sheet": sheet, "rows": [{"a": 2}]}, ctx)
        assert result.error_type == "WorkspacePathError", (sheet, result.content)
    assert outside.read_text() == "a\n1\n"


async def test_limits_from_plugin_settings(registry: ToolRegistry, ctx: ToolContext) -> None:
    small = replace(ctx, plugins=PluginSettings({"sheets": {"max_rows": 2, "max_cell_chars": 5}}))
    too_many = await registry.call(
        "sheet.append", {"sheet": "p.csv", "rows": [{"a": 1}, {"a": 2}, {"a": 3}]}, small
    )
    assert "over the 2-row limit" in too_many.content
    long_cell = await registry.call(
        "sheet.append", {"sheet": "p.csv", "rows": [{"a": "x" * 6}]}, small
    )
    assert "over the 5-character limit" in long_cell.content
    bad_table = replace(ctx, plugins=PluginSettings({"sheets": {"max_rows": "many"}}))
    refused = await registry.call("sheet.read", {"sheet": "p.csv"}, bad_table)
    assert refused.error_type == "PluginSettingsError"
    assert not (ctx.workspace.root / "p.csv").exists()


# -- Google Sheets at the HTTP transport ---------------------------------------

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"


def _service_account() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "orchestra-test",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "shaun@orchestra-test.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


@pytest.fixture
def google() -> tuple[respx.MockRouter, list[list[str]]]:
    values = [["name", "title", "company", "city"], ["Anna Schmidt", "CTO", "Kiezware", "Berlin"]]
    router = respx.MockRouter(assert_all_mocked=True)
    router.post("https://oauth2.googleapis.com/token").respond(
        json={"access_token": "ya29.test-token", "expires_in": 3600, "token_type": "Bearer"}
    )
    router.get(f"{SHEETS}/{KEY}").respond(
        json={
            "spreadsheetId": KEY,
            "properties": {"title": "Prospects"},
            "sheets": [
                {
                    "properties": {
                        "sheetId": 0,
                        "title": "Sheet1",
                        "index": 0,
                        "gridProperties": {"rowCount": 1000, "columnCount": 26},
                    }
                }
            ],
        }
    )
    router.get(url__regex=rf"^{re.escape(SHEETS)}/{KEY}/values/.*").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"range": "Sheet1!A1:Z1000", "values": values}
        )
    )
    return router, values


def _google_ctx(ctx: ToolContext, router: respx.MockRouter) -> ToolContext:
    return replace(
        ctx,
        plugins=PluginSettings({"sheets": {"google_service_account": "os.environ/GOOGLE_SA"}}),
        secrets=EnvSecrets({"GOOGLE_SA": _service_account()}),
        transport=httpx.MockTransport(router.async_handler),
    )


async def test_google_sheet_read_append_update_through_the_transport(
    registry: ToolRegistry, ctx: ToolContext, google: tuple[respx.MockRouter, list[list[str]]]
) -> None:
    router, _ = google
    append_route = router.post(url__regex=rf"^{re.escape(SHEETS)}/{KEY}/values/.*:append").respond(
        json={"updates": {"updatedRows": 1}}
    )
    batch_route = router.post(f"{SHEETS}/{KEY}/values:batchUpdate").respond(json={})
    gctx = _google_ctx(ctx, router)
    url = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"

    read = await registry.call("sheet.read", {"sheet": url}, gctx)
    assert read.ok, read.content
    assert (read.data or {})["rows"] == [
        {"name": "Anna Schmidt", "title": "CTO", "company": "Kiezware", "city": "Berlin"}
    ]
    token_calls = [c for c in router.calls if c.request.url.host == "oauth2.googleapis.com"]
    assert b"grant_type=urn" in token_calls[0].request.content  # a signed JWT was exchanged
    sheet_calls = [c for c in router.calls if c.request.url.host == "sheets.googleapis.com"]
    assert all(c.request.headers["Authorization"] == "Bearer ya29.test-token" for c in sheet_calls)

    appended = await registry.call(
        "sheet.append",
        {"sheet": f"gsheet:{KEY}", "rows": [{"name": "Jonas Weber", "city": "Berlin"}]},
        gctx,
    )
    assert appended.ok, appended.content
    body = json.loads(append_route.calls.last.request.content)
    assert body["values"] == [["Jonas Weber", "", "", "Berlin"]]
    assert append_route.calls.last.request.url.params["valueInputOption"] == "RAW"

    updated = await registry.call(
        "sheet.update",
        {"sheet": url, "where": {"name": "Anna Schmidt"}, "values": {"city": "Potsdam"}},
        gctx,
    )
    assert updated.ok, updated.content
    batch = json.loads(batch_route.calls.last.request.content)
    assert batch["data"][0]["values"] == [["Anna Schmidt", "CTO", "Kiezware", "Potsdam"]]
    assert batch["data"][0]["range"].endswith("A2")


async def test_google_sheets_without_a_key_or_with_a_bad_one_say_what_to_set(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    no_key = await registry.call("sheet.read", {"sheet": f"gsheet:{KEY}"}, ctx)
    assert no_key.status == "error"
    assert "google_service_account in [plugins.sheets]" in no_key.content
    bad = replace(ctx, plugins=PluginSettings({"sheets": {"google_service_account": "{not json"}}))
    refused = await registry.call("sheet.read", {"sheet": f"gsheet:{KEY}"}, bad)
    assert "not the JSON text of a service-account key" in refused.content
    denied = respx.MockRouter()
    denied.post("https://oauth2.googleapis.com/token").respond(400, json={"error": "invalid_grant"})
    result = await registry.call("sheet.read", {"sheet": f"gsheet:{KEY}"}, _google_ctx(ctx, denied))
    assert result.status == "error"
    assert "Google refused the service-account key" in result.content
