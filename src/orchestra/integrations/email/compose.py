"""Turning a subject, Jinja2 templates and attachments into one MIME message.

Templates run in Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` (a template
an agent wrote cannot reach Python internals), HTML templates with autoescaping on
(values put into the HTML are escaped), text templates without. A message always
has a plain-text part; with HTML it is ``multipart/alternative`` (text first, so a
text-only reader shows it), and attachments make it ``multipart/mixed``.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from html import unescape
from typing import TYPE_CHECKING, Any

from orchestra.integrations.email.errors import TemplateRenderError
from orchestra.tools.errors import ToolArgumentsError

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = ""

    @property
    def mime(self) -> tuple[str, str]:
        kind = self.content_type or mimetypes.guess_type(self.filename)[0]
        main, _, sub = (kind or "application/octet-stream").partition("/")
        return main, sub or "octet-stream"


def environment(*, html: bool) -> SandboxedEnvironment:
    """A sandboxed Jinja2 environment; HTML ones escape every value they insert."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True
    )


def render(source: str, context: Mapping[str, Any], *, name: str, html: bool) -> str:
    """Render a Jinja2 template text; errors name the template and line and say what to fix."""
    from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError

    try:
        return environment(html=html).from_string(source).render(dict(context))
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(
            f"template {name}, line {exc.lineno}: {exc.message}; fix the Jinja2 syntax"
        ) from exc
    except UndefinedError as exc:
        raise TemplateRenderError(
            f"template {name}: {exc.message}; pass it in 'context' or remove it from the template"
        ) from exc
    except TemplateError as exc:
        raise TemplateRenderError(f"template {name}: {exc}") from exc


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|br|h[1-6]|li|tr|table|ul|ol|section)\b[^>]*>", re.IGNORECASE)
_DROP = re.compile(r"<(script|style|head)\b.*?</\1>", re.IGNORECASE | re.DOTALL)


def html_to_text(html: str) -> str:
    """A readable plain-text alternative of an HTML body (blocks become lines)."""
    text = _DROP.sub("", html)
    text = _BLOCK.sub("\n", text)
    text = unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def check_addresses(values: Sequence[str], field: str) -> list[str]:
    """Each value must be one address (``a@b.c`` or ``Name <a@b.c>``); return the bare ones."""
    bare: list[str] = []
    for value in values:
        if any(c in value for c in "\r\n"):
            raise ToolArgumentsError(f"{field}: {value!r} contains a line break")
        parsed = getaddresses([value])
        if len(parsed) != 1 or not re.fullmatch(
            r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", parsed[0][1]
        ):
            raise ToolArgumentsError(
                f"{field}: {value!r} is not one email address; write 'name@example.com' "
                "or 'Name <name@example.com>', one per list item"
            )
        bare.append(parsed[0][1])
    return bare


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The message to hand to SMTP. ``subject`` may not contain line breaks."""
    if "\n" in subject or "\r" in subject:
        raise ToolArgumentsError("subject may not contain line breaks")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    for item in attachments:
        main, sub = item.mime
        message.add_attachment(item.data, maintype=main, subtype=sub, filename=item.filename)
    return message


__all__ = [
    "Attachment",
    "build_message",
    "check_addresses",
    "environment",
    "html_to_text",
    "render",
]
