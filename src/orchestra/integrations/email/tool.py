"""``email.send``: one message from the agent, rendered from Jinja2 templates or given
text, with attachments from the workspace, to recipients the project allows.

Limits: recipients (``max_recipients``, every one matching ``allowed_recipients``),
attachment count and total size, template size, the SMTP timeout. The step's
idempotency key goes into an ``X-Orchestra-Idempotency-Key`` header so a receiving
system can drop the duplicate a retried step would send.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field, model_validator

from orchestra.integrations.confined_io import read_bytes
from orchestra.integrations.email.compose import (
    Attachment,
    build_message,
    check_addresses,
    html_to_text,
    render,
)
from orchestra.integrations.email.errors import RecipientNotAllowedError
from orchestra.integrations.email.settings import EmailSettings
from orchestra.integrations.email.smtp import send_message
from orchestra.tools.errors import ToolArgumentsError
from orchestra.tools.protocol import Permission, ToolContext, ToolOutput, tool

TEMPLATE_LIMIT = 512 * 1024


class SendArgs(BaseModel):
    to: list[str] = Field(min_length=1, description="Recipient addresses, one per item.")
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    subject: str = Field(
        min_length=1, max_length=300, description="Jinja2 text, rendered with context."
    )
    text: str | None = Field(default=None, max_length=200_000, description="Plain-text body.")
    html: str | None = Field(default=None, max_length=500_000, description="HTML body.")
    template: str | None = Field(
        default=None,
        description="Workspace path of a Jinja2 HTML template for the body, e.g. 'output/mail.html.j2'.",
    )
    text_template: str | None = Field(
        default=None, description="Workspace path of a Jinja2 template for the text part."
    )
    context: dict[str, Any] = Field(
        default_factory=dict, description="Values the templates (and the subject) may use."
    )
    attachments: list[str] = Field(
        default_factory=list, description="Workspace paths of files to attach."
    )

    @model_validator(mode="after")
    def _has_body(self) -> SendArgs:
        if not any((self.text, self.html, self.template, self.text_template)):
            raise ValueError("give a body: text, html, template or text_template")
        if self.html is not None and self.template is not None:
            raise ValueError("give html or template, not both")
        if self.text is not None and self.text_template is not None:
            raise ValueError("give text or text_template, not both")
        return self


def _workspace_text(ctx: ToolContext, path: str) -> str:
    return read_bytes(ctx.workspace, path, limit=TEMPLATE_LIMIT).decode("utf-8", errors="replace")


def _attachments(ctx: ToolContext, paths: list[str], settings: EmailSettings) -> list[Attachment]:
    if len(paths) > settings.max_attachments:
        raise ToolArgumentsError(
            f"{len(paths)} attachments; at most {settings.max_attachments} per message "
            "([plugins.email] max_attachments)"
        )
    budget = int(settings.max_attachment_mb * 1024 * 1024)
    found: list[Attachment] = []
    for path in paths:
        data = read_bytes(ctx.workspace, path, limit=budget)
        budget -= len(data)
        if budget < 0:
            raise ToolArgumentsError(
                f"attachments are over {settings.max_attachment_mb:g} MB together "
                "([plugins.email] max_attachment_mb); attach fewer or smaller files"
            )
        found.append(Attachment(path.rsplit("/", 1)[-1], data))
    return found


def compose(args: SendArgs, ctx: ToolContext, settings: EmailSettings) -> tuple[Any, list[str]]:
    """The message and its envelope recipients, every limit checked (blocking: file reads)."""
    to = check_addresses(args.to, "to")
    cc = check_addresses(args.cc, "cc")
    bcc = check_addresses(args.bcc, "bcc")
    everyone = [*to, *cc, *bcc]
    if len(everyone) > settings.max_recipients:
        raise ToolArgumentsError(
            f"{len(everyone)} recipients; at most {settings.max_recipients} "
            "([plugins.email] max_recipients)"
        )
    refused = settings.refused(everyone)
    if refused:
        allowed = ", ".join(settings.allowed_recipients) or "none"
        raise RecipientNotAllowedError(
            f"not allowed to write to {', '.join(refused)} (allowed: {allowed}); add a pattern "
            "to allowed_recipients in [plugins.email] of orchestra.toml"
        )
    context = dict(args.context)
    subject = render(args.subject, context, name="subject", html=False).strip()
    html = args.html
    if args.template is not None:
        html = render(_workspace_text(ctx, args.template), context, name=args.template, html=True)
    if args.text_template is not None:
        text = render(
            _workspace_text(ctx, args.text_template), context, name=args.text_template, html=False
        )
    elif args.text is not None:
        text = args.text
    else:
        text = html_to_text(html or "")
    message = build_message(
        sender=settings.sender,
        to=args.to,
        cc=args.cc,
        subject=subject,
        text=text,
        html=html,
        attachments=_attachments(ctx, args.attachments, settings),
        headers={"X-Orchestra-Idempotency-Key": ctx.idempotency_key}
        if ctx.idempotency_key
        else None,
    )
    return message, everyone


@tool("email.send", permission=Permission.NETWORK)
async def email_send(args: SendArgs, ctx: ToolContext) -> ToolOutput:
    """Send an email (text and/or HTML from Jinja2 templates in the workspace, with
    attachments from the workspace) through the project's SMTP server. Only recipients
    the project allows are accepted."""
    settings = ctx.plugin_settings("email", EmailSettings)
    message, recipients = await asyncio.to_thread(compose, args, ctx, settings)
    reply = await send_message(message, settings, recipients=recipients)
    attached = [p.rsplit("/", 1)[-1] for p in args.attachments]
    return ToolOutput(
        text=f"sent {message['Subject']!r} to {', '.join(recipients)}"
        + (f" with {', '.join(attached)}" if attached else ""),
        data={
            "message_id": message["Message-ID"],
            "recipients": recipients,
            "attachments": attached,
            "server_reply": reply,
        },
    )
