"""``email.send`` against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives is
checked header by header, part by part, attachment by attachment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestra.integrations.email import register
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.secrets import EnvSecrets
from orchestra.tools.workspace import Workspace
from tests.integrations.smtp_server import Inbox, smtp_inbox

__all__ = ["smtp_inbox"]

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def email_ctx(tmp_path: Path, inbox: Inbox, **table: Any) -> ToolContext:
    workspace = Workspace.create(tmp_path / "ws", "run-1")
    settings = {
        "host": inbox.host,
        "port": inbox.port,
        "sender": "Orchestra <bot@example.com>",
        "allowed_recipients": ["*@example.com"],
        **table,
    }
    return ToolContext(
        workspace=workspace,
        run_id="run-1",
        step_id="mail",
        agent="mailer",
        idempotency_key="run-1:mail:1",
        plugins=PluginSettings({"email": settings}),
        secrets=EnvSecrets({}),
    )


@pytest.fixture
def tools() -> ToolRegistry:
    registry = ToolRegistry()
    register(registry)
    return registry


async def test_a_templated_message_arrives_with_text_html_and_attachments(
    tmp_path: Path, smtp_inbox: Inbox, tools: ToolRegistry
) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox)
    root = ctx.workspace.root
    (root / "output" / "mail.html.j2").write_text(
        "<h1>Report for {{ client }}</h1><p>Total: {{ total }} &amp; {{ note }}</p>"
    )
    (root / "output" / "report.pdf").write_bytes(b"%PDF-1.4 fake report\n")
    (root / "output" / "chart.png").write_bytes(PNG)

    result = await tools.call(
        "email.send",
        {
            "to": ["Ada <ada@example.com>"],
            "cc": ["bob@example.com"],
            "bcc": ["audit@example.com"],
            "subject": "Weekly report for {{ client }}",
            "template": "output/mail.html.j2",
            "context": {"client": "ACME", "total": 42, "note": "<b>bold</b>"},
            "attachments": ["output/report.pdf", "output/chart.png"],
        },
        ctx,
    )

    assert result.status == "ok", result.content
    [got] = smtp_inbox.messages
    assert got.envelope_from == "bot@example.com"
    assert sorted(got.envelope_to) == ["ada@example.com", "audit@example.com", "bob@example.com"]
    msg = got.message
    assert msg["Subject"] == "Weekly report for ACME"
    assert msg["From"] == "Orchestra <bot@example.com>"
    assert msg["To"] == "Ada <ada@example.com>"
    assert msg["Cc"] == "bob@example.com"
    assert msg["Bcc"] is None, "Bcc recipients must not be visible in the headers"
    assert msg["X-Orchestra-Idempotency-Key"] == "run-1:mail:1"
    assert msg["Message-ID"] == result.data["message_id"]
    assert msg.get_content_type() == "multipart/mixed"

    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "Report for ACME" in text.get_content()
    assert "Total: 42" in text.get_content()
    # Autoescaping: a value cannot inject markup into the HTML part.
    assert "&lt;b&gt;bold&lt;/b&gt;" in html.get_content()
    assert "<h1>Report for ACME</h1>" in html.get_content()

    attachments = {part.get_filename(): part for part in msg.iter_attachments()}
    assert set(attachments) == {"report.pdf", "chart.png"}
    assert attachments["report.pdf"].get_content_type() == "application/pdf"
    assert attachments["report.pdf"].get_content() == b"%PDF-1.4 fake report\n"
    assert attachments["chart.png"].get_content_type() == "image/png"
    assert attachments["chart.png"].get_content() == PNG


async def test_a_plain_text_message_has_one_text_part(
    tmp_path: Path, smtp_inbox: Inbox, tools: ToolRegistry
) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox)
    result = await tools.call(
        "email.send", {"to": ["ada@example.com"], "subject": "Hi", "text": "Just text.\n"}, ctx
    )
    assert result.status == "ok", result.content
    msg = smtp_inbox.messages[0].message
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().replace("\r\n", "\n") == "Just text.\n"


async def test_recipients_outside_the_allowlist_are_refused_and_nothing_is_sent(
    tmp_path: Path, smtp_inbox: Inbox, tools: ToolRegistry
) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox)
    result = await tools.call(
        "email.send",
        {"to": ["ada@example.com", "eve@evil.test"], "subject": "x", "text": "x"},
        ctx,
    )
    assert result.status == "error"
    assert "eve@evil.test" in result.content and "allowed_recipients" in result.content
    assert smtp_inbox.messages == []


async def test_with_no_allowlist_every_recipient_is_refused(
    tmp_path: Path, smtp_inbox: Inbox, tools: ToolRegistry
) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox, allowed_recipients=[])
    result = await tools.call(
        "email.send", {"to": ["ada@example.com"], "subject": "x", "text": "x"}, ctx
    )
    assert result.status == "error" and "allowed: none" in result.content
    assert smtp_inbox.messages == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"to": ["ada@example.com"], "subject": "x"}, "give a body"),
        ({"to": ["not an address"], "subject": "x", "text": "x"}, "not one email address"),
        (
            {"to": ["a@example.com, b@example.com"], "subject": "x", "text": "x"},
            "one per list item",
        ),
        ({"to": [], "subject": "x", "text": "x"}, "to:"),
        (
            {
                "to": ["ada@example.com"],
                "subject": "x",
                "text": "x",
                "attachments": ["../../etc/passwd"],
            },
            "'..'",
        ),
        (
            {
                "to": ["ada@example.com"],
                "subject": "x",
                "text": "x",
                "attachments": ["/etc/passwd"],
            },
            "absolute path",
        ),
        (
            {
                "to": ["ada@example.com"],
                "subject": "x",
                "text": "x",
                "attachments": ["missing.pdf"],
            },
            "does not exist",
        ),
        ({"to": ["ada@example.com"], "subject": "{{ nope }}", "text": "x"}, "'nope' is undefined"),
        ({"to": ["ada@example.com"], "subject": "x", "html": "{% if %}"}, None),
    ],
)
async def test_bad_arguments_are_clear_errors(
    tmp_path: Path,
    smtp_inbox: Inbox,
    tools: ToolRegistry,
    args: dict[str, Any],
    expected: str | None,
) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox)
    result = await tools.call("email.send", args, ctx)
    if expected is None:  # literal html is sent as given: it is not a template
        assert result.status == "ok"
        return
    assert result.status == "error"
    assert expected in result.content
    assert smtp_inbox.messages == []


async def test_a_broken_template_names_its_file_and_line(
    tmp_path: Path, smtp_inbox: Inbox, tools: ToolRegistry
) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox)
    (ctx.workspace.root / "t.html.j2").write_text("<p>ok</p>\n{% for x in %}\n")
    result = await tools.call(
        "email.send", {"to": ["ada@example.com"], "subject": "x", "template": "t.html.j2"}, ctx
    )
    assert result.status == "error"
    assert "template t.html.j2, line 2" in result.content


async def test_attachment_limits(tmp_path: Path, smtp_inbox: Inbox, tools: ToolRegistry) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox, max_attachment_mb=0.001, max_attachments=2)
    (ctx.workspace.root / "big.bin").write_bytes(b"x" * 2000)
    for name in ("a", "b", "c"):
        (ctx.workspace.root / name).write_bytes(b"1")
    base = {"to": ["ada@example.com"], "subject": "x", "text": "x"}
    too_big = await tools.call("email.send", {**base, "attachments": ["big.bin"]}, ctx)
    assert too_big.status == "error" and "limit" in too_big.content
    too_many = await tools.call("email.send", {**base, "attachments": ["a", "b", "c"]}, ctx)
    assert too_many.status == "error" and "max_attachments" in too_many.content
    assert smtp_inbox.messages == []


async def test_an_unreachable_server_is_a_retryable_error(
    tmp_path: Path, tools: ToolRegistry
) -> None:
    dead = Inbox("127.0.0.1", 1)
    ctx = email_ctx(tmp_path, dead, timeout_s=5)
    result = await tools.call(
        "email.send", {"to": ["ada@example.com"], "subject": "x", "text": "x"}, ctx
    )
    assert result.status == "error"
    assert "cannot connect to the SMTP server 127.0.0.1:1" in result.content
    assert result.retryable


async def test_the_password_comes_from_the_secret_provider(
    tmp_path: Path, smtp_inbox: Inbox, tools: ToolRegistry
) -> None:
    ctx = email_ctx(tmp_path, smtp_inbox, username="bot", password="os.environ/SMTP_PASSWORD")
    result = await tools.call(
        "email.send", {"to": ["ada@example.com"], "subject": "x", "text": "x"}, ctx
    )
    # The provider has no SMTP_PASSWORD: the error names the variable to set.
    assert result.status == "error" and "SMTP_PASSWORD" in result.content
