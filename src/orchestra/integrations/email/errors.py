"""Errors of the email integration.

Tree::

    ToolUserError
    └── RecipientNotAllowedError   an address outside [plugins.email] allowed_recipients
    ToolRuntimeError
    ├── TemplateRenderError        a Jinja2 template does not parse or fails to render
    └── SmtpError                  the SMTP server refused, timed out or could not be reached
"""

from __future__ import annotations

from orchestra.tools.errors import ToolRuntimeError, ToolUserError


class RecipientNotAllowedError(ToolUserError):
    """An address the project's ``allowed_recipients`` patterns do not match."""


class TemplateRenderError(ToolRuntimeError):
    """A template could not be parsed or rendered (names the template and line)."""


class SmtpError(ToolRuntimeError):
    """Sending failed at the SMTP server; ``retryable`` for timeouts and lost connections."""


__all__ = ["RecipientNotAllowedError", "SmtpError", "TemplateRenderError"]
