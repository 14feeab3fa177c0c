from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestra.tools.builtin.http_fetch import FetchArgs, fetch_checked, html_to_text
from orchestra.tools.errors import BlockedAddressError
from orchestra.tools.netguard import NetworkPolicy, resolve_checked
from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry

PAGE = b"""<html><head><title>Hello page</title><style>p{}</style></head>
<body><script>alert('x')</script><h1>Welcome</h1><p>First &amp; second.</p></body></html>"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/page":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif self.path == "/big":
            self._send(200, b"x" * 50_000, "text/plain")
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()  # no Content-Length: the limit must be enforced while reading
            for _ in range(50):
                self.wfile.write(b"y" * 1000)
            self.close_connection = True
        elif self.path == "/to-page":
            self._redirect("/page")
        elif self.path == "/to-private":
            self._redirect(f"http://127.0.0.2:{port}/page")
        elif self.path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        else:
            self._send(404, b"nope", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        key = self.headers.get("Idempotency-Key", "")
        self._send(200, b"got " + body + b" key=" + key.encode(), "text/plain")

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def local_ctx(ctx: ToolContext, **overrides: object) -> ToolContext:
    """Only 127.0.0.1 itself is allowed: every other private address stays refused."""
    settings = ToolSettings(
        http_allowed_networks=("127.0.0.1/32",), http_max_bytes=10_000, **overrides
    )  # type: ignore[arg-type]
    return ToolContext(workspace=ctx.workspace, settings=settings, idempotency_key="run1:step1")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/", "http://127.0.0.1:8080/admin", "http://[::1]/", "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/", "http://localhost/", "http://10.0.0.1/", "http://192.168.1.1/",
        "http://100.64.0.1/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/",
        "http://2130706433/",
    ],
)  # fmt: skip
async def test_private_loopback_and_metadata_targets_are_refused(
    registry: ToolRegistry, ctx: ToolContext, url: str
) -> None:
    result = await registry.call("http.fetch", {"url": url}, ctx)
    assert result.status == "error"
    assert result.error_type in ("BlockedAddressError", "FetchError")
    if result.error_type == "FetchError":  # a name the resolver rejects never connects either
        assert "cannot resolve" in result.content


async def test_hostname_resolving_to_private_address_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"intranet.test": ["10.1.2.3"], "mixed.test": ["93.184.216.34", "127.0.0.1"]}[host]

    with pytest.raises(BlockedAddressError, match=r"10\.1\.2\.3, a private address"):
        await resolve_checked("intranet.test", 80, NetworkPolicy(), resolver)
    with pytest.raises(BlockedAddressError, match="loopback"):
        await resolve_checked("mixed.test", 80, NetworkPolicy(), resolver)
    public = await resolve_checked(
        "mixed.test", 80, NetworkPolicy(allowed_networks=("127.0.0.1/32",)), resolver
    )
    assert str(public) == "93.184.216.34"  # the pinned address is the one that was checked


def test_metadata_is_refused_even_when_private_networks_are_allowed() -> None:
    policy = NetworkPolicy(allow_private=True)
    assert str(policy.check("10.0.0.1", host="x")) == "10.0.0.1"
    with pytest.raises(BlockedAddressError, match="metadata"):
        policy.check("169.254.169.254", host="x")
    with pytest.raises(BlockedAddressError, match="metadata"):
        policy.check("fd00:ec2::254", host="x")


async def test_fetches_html_as_readable_text(
    registry: ToolRegistry, ctx: ToolContext, server: str
) -> None:
    result = await registry.call("http.fetch", {"url": f"{server}/to-page"}, local_ctx(ctx))
    assert result.ok, result.content
    assert "title: Hello page" in result.content
    assert "Welcome\n\nFirst & second." in result.content
    assert "alert" not in result.content and "p{}" not in result.content
    assert result.data is not None and result.data["url"].endswith("/page")


async def test_redirect_to_a_private_address_is_refused_at_the_redirect(
    registry: ToolRegistry, ctx: ToolContext, server: str
) -> None:
    # The first hop (127.0.0.1, explicitly allowed) succeeds; the redirect target is what is refused.
    result = await registry.call("http.fetch", {"url": f"{server}/to-private"}, local_ctx(ctx))
    assert result.status == "error" and result.error_type == "BlockedAddressError"
    assert "127.0.0.2, a loopback address" in result.content
    metadata = await registry.call("http.fetch", {"url": f"{server}/to-metadata"}, local_ctx(ctx))
    assert metadata.error_type == "BlockedAddressError" and "metadata" in metadata.content


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
async def test_response_larger_than_the_limit_is_refused(
    registry: ToolRegistry, ctx: ToolContext, server: str, path: str
) -> None:
    result = await registry.call("http.fetch", {"url": f"{server}{path}"}, local_ctx(ctx))
    assert result.status == "error" and result.error_type == "FetchError"
    assert "10000-byte limit" in result.content


async def test_post_sends_body_and_idempotency_key(ctx: ToolContext, server: str) -> None:
    out = await fetch_checked(
        FetchArgs(url=f"{server}/echo", method="POST", body='{"a":1}'), local_ctx(ctx)
    )
    assert 'got {"a":1} key=run1:step1' in out.text


def test_html_to_text_drops_scripts_and_keeps_blocks() -> None:
    title, text = html_to_text(PAGE.decode())
    assert title == "Hello page"
    assert text == "Welcome\n\nFirst & second."
