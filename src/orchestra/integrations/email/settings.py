"""``[plugins.email]``: the SMTP server, who may be written to, limits, notifications.

``orchestra.toml``::

    [plugins.email]
    host = "smtp.example.com"
    port = 587
    starttls = true
    username = "orchestra@example.com"
    password = "os.environ/SMTP_PASSWORD"
    sender = "Orchestra <orchestra@example.com>"
    allowed_recipients = ["*@example.com", "boss@partner.org"]

    [[plugins.email.notifications]]
    on = "run_failed"
    to = ["oncall@example.com"]
    template = "templates/run_failed.html.j2"   # relative to the project; optional

The SMTP server is chosen by whoever writes the settings, never by an agent, so it
may be a private address (a local relay). The recipients an agent writes to must
match ``allowed_recipients`` (shell-style patterns); an empty list refuses every
address, so nothing is mailed until the project says to whom.
"""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Trigger = Literal["run_failed", "approval_requested", "task_complete"]


class NotificationRule(BaseModel):
    """Send ``template`` to ``to`` whenever ``on`` happens."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    on: Trigger
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = ""
    """Jinja2 text; empty: a default subject for the trigger."""
    template: str | None = None
    """A Jinja2 HTML template relative to the project folder; None: the built-in one."""


class EmailSettings(BaseModel):
    """The ``[plugins.email]`` table, validated when a tool or the notifier needs it."""

    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    """Write ``os.environ/NAME``: the secret is looked up, never stored in the file."""
    starttls: bool = False
    tls: bool = False
    """Implicit TLS (port 465); ``starttls`` upgrades a plain connection instead."""
    sender: str = "orchestra@localhost"
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    allowed_recipients: list[str] = Field(default_factory=list)
    max_recipients: int = Field(default=20, ge=1, le=500)
    max_attachments: int = Field(default=10, ge=0, le=100)
    max_attachment_mb: float = Field(default=10.0, gt=0, le=100)
    """Largest total size of a message's attachments."""
    notifications: list[NotificationRule] = Field(default_factory=list)

    def refused(self, addresses: list[str]) -> list[str]:
        """The addresses no ``allowed_recipients`` pattern matches (case-insensitive)."""
        patterns = [p.lower() for p in self.allowed_recipients]
        return [
            a for a in addresses if not any(fnmatch.fnmatchcase(a.lower(), p) for p in patterns)
        ]


__all__ = ["EmailSettings", "NotificationRule", "Trigger"]
