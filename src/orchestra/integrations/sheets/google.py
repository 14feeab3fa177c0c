"""Google Sheets through gspread, with its HTTP sent through the tool context's transport.

gspread speaks ``requests``; Orchestra's tools send HTTP through
``ToolContext.http_client`` (the network guard by default, a respx router in
tests). :class:`_ContextAdapter` is a ``requests`` transport adapter that hands
each request gspread (and google-auth's token refresh) makes to the event
loop's httpx client and waits for the answer, so gspread runs unchanged in a
worker thread while every byte goes through the one transport.

The service-account key is the JSON text of ``[plugins.sheets]
google_service_account`` (normally ``"os.environ/GOOGLE_SERVICE_ACCOUNT_JSON"``);
it is parsed in memory and never written anywhere or logged.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from orchestra.integrations._deps import missing_extra
from orchestra.integrations.sheets.settings import SheetsSettings
from orchestra.integrations.sheets.table import Cell, Table
from orchestra.tools.errors import FetchError, ToolArgumentsError, ToolRuntimeError
from orchestra.tools.protocol import ToolContext

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
_URL_RE = re.compile(r"^https://docs\.google\.com/spreadsheets/d/([A-Za-z0-9_-]+)")
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

Send = Callable[[str, str, dict[str, str], bytes | None], tuple[int, dict[str, str], bytes, str]]


def is_google(sheet: str) -> bool:
    return sheet.startswith(("https://docs.google.com/spreadsheets/", "gsheet:"))


def spreadsheet_key(sheet: str) -> str:
    """The spreadsheet id in a Google Sheets URL or ``gsheet:<id>``."""
    if sheet.startswith("gsheet:"):
        key = sheet.removeprefix("gsheet:")
        if _KEY_RE.match(key):
            return key
    match = _URL_RE.match(sheet)
    if match:
        return match.group(1)
    raise ToolArgumentsError(
        f"{sheet!r} is not a Google Sheets address: use https://docs.google.com/spreadsheets/d/<id> "
        "or gsheet:<id>"
    )


def _sender(ctx: ToolContext, loop: asyncio.AbstractEventLoop, timeout_s: float) -> Send:
    """A blocking ``send`` for a worker thread: runs the request on ``loop`` via httpx."""

    async def send_async(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes, str]:
        async with ctx.http_client() as client:
            response = await client.request(method, url, headers=headers, content=body)
            return response.status_code, dict(response.headers), response.content, str(response.url)

    def send(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes, str]:
        future = asyncio.run_coroutine_threadsafe(send_async(method, url, headers, body), loop)
        return future.result(timeout=timeout_s)

    return send


def _session(send: Send, credentials: Any) -> Any:
    """A google-auth ``AuthorizedSession`` whose HTTP (token refresh too) goes through ``send``."""
    import requests
    from google.auth.transport.requests import AuthorizedSession, Request
    from requests.adapters import BaseAdapter
    from requests.structures import CaseInsensitiveDict

    class _ContextAdapter(BaseAdapter):
        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> requests.Response:
            raw = request.body
            body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
            if raw is not None and body is None:
                raise ToolRuntimeError("gspread sent a streamed body, which is not supported")
            fields = {
                str(k): v.decode("latin-1") if isinstance(v, bytes) else str(v)
                for k, v in request.headers.items()
            }
            status, headers, content, url = send(
                str(request.method), str(request.url), fields, body
            )
            response = requests.Response()
            response.status_code = status
            response.headers = CaseInsensitiveDict(headers)
            response._content = content
            response.url = url
            response.request = request
            response.encoding = "utf-8"
            response.reason = ""
            return response

        def close(self) -> None:
            pass

    def mounted(session: requests.Session) -> requests.Session:
        for prefix in ("https://", "http://"):
            session.mount(prefix, _ContextAdapter())
        return session

    auth_request = Request(mounted(requests.Session()))
    return mounted(AuthorizedSession(credentials, auth_request=auth_request))  # type: ignore[no-untyped-call]


class GoogleSheet:
    """One worksheet of a spreadsheet, opened with the configured service account."""

    def __init__(self, ctx: ToolContext, settings: SheetsSettings) -> None:
        if not settings.google_service_account:
            raise ToolArgumentsError(
                "Google Sheets needs a service-account key: set google_service_account in "
                '[plugins.sheets] (e.g. "os.environ/GOOGLE_SERVICE_ACCOUNT_JSON") and share the '
                "sheet with the service account's e-mail address"
            )
        try:
            self._info = json.loads(settings.google_service_account)
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(
                "[plugins.sheets] google_service_account is not the JSON text of a service-account "
                f"key ({exc.msg}); paste the key file's content into the secret"
            ) from None
        self._ctx = ctx
        self._settings = settings

    async def _run(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(gspread client)`` in a worker thread, HTTP through the context."""
        try:
            import gspread
            from google.oauth2.service_account import Credentials
        except ImportError as exc:
            raise missing_extra("gspread", exc) from exc
        try:
            credentials = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                self._info, scopes=SCOPES
            )
        except (ValueError, KeyError) as exc:
            raise ToolArgumentsError(
                f"[plugins.sheets] google_service_account is not a usable service-account key: {exc}"
            ) from None
        loop = asyncio.get_running_loop()
        send = _sender(self._ctx, loop, self._settings.timeout_s)

        def work() -> Any:
            client = gspread.Client(credentials, session=_session(send, credentials))
            return fn(client)

        try:
            return await asyncio.to_thread(work)
        except gspread.exceptions.APIError as exc:
            raise FetchError(f"Google Sheets answered {exc.response.status_code}: {exc}") from exc
        except gspread.exceptions.SpreadsheetNotFound as exc:
            raise ToolArgumentsError(
                "spreadsheet not found: check the address and share it with the service account"
            ) from exc
        except gspread.exceptions.WorksheetNotFound as exc:
            raise ToolArgumentsError(f"no worksheet named {exc}") from exc
        except Exception as exc:  # boundary: google-auth RefreshError, transport errors
            if type(exc).__name__ == "RefreshError":
                raise ToolRuntimeError(f"Google refused the service-account key: {exc}") from exc
            raise

    @staticmethod
    def _worksheet(client: Any, key: str, worksheet: str | None) -> Any:
        book = client.open_by_key(key)
        return book.worksheet(worksheet) if worksheet else book.sheet1

    async def load(self, key: str, worksheet: str | None) -> Table:
        def read(client: Any) -> list[list[str]]:
            values: list[list[str]] = self._worksheet(client, key, worksheet).get_all_values()
            return values

        rows = await self._run(read)
        if len(rows) > self._settings.max_rows + 1:
            raise ToolArgumentsError(
                f"the sheet has {len(rows) - 1} rows, over the {self._settings.max_rows}-row limit"
            )
        header = [str(c) for c in rows[0]] if rows else []
        return Table(header=header, rows=[[_cell(v) for v in r] for r in rows[1:]])

    async def append(self, key: str, worksheet: str | None, rows: list[list[Cell]]) -> None:
        await self._run(
            lambda client: self._worksheet(client, key, worksheet).append_rows(
                [["" if c is None else c for c in row] for row in rows],
                value_input_option="RAW",
            )
        )

    async def update(
        self, key: str, worksheet: str | None, table: Table, changed: list[int]
    ) -> None:
        """Write the changed data rows (1-based) back, in one batch request."""
        data = [
            {
                "range": f"A{number + 1}",
                "values": [["" if c is None else c for c in table.rows[number - 1]]],
            }
            for number in changed
        ]
        await self._run(
            lambda client: self._worksheet(client, key, worksheet).batch_update(
                data, value_input_option="RAW"
            )
        )


def _cell(value: str) -> Cell:
    return value if value != "" else None
