"""``email.send`` and run notifications by email (``[plugins.email]``).

:func:`register` is the ``orchestra.tools`` entry point; aiosmtplib and Jinja2 are
imported only when a message is sent.
"""

from __future__ import annotations

from orchestra.integrations.email.tool import email_send
from orchestra.tools.registry import ToolRegistry


def register(registry: ToolRegistry) -> None:
    """Add ``email.send``."""
    registry.register(email_send)


__all__ = ["register"]
