"""Wiring the email notifier (``[[plugins.email.notifications]]``) into a server process.

Only when the project has notification rules: the notifier listens to the container's
event feed, finds the task of a finished run through the task repository, and sends
what is queued before the process closes (see
:mod:`orchestra.integrations.email.notifications`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orchestra.integrations.email.notifications import EmailNotifier
from orchestra.integrations.email.settings import EmailSettings
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.secrets import EnvSecrets

if TYPE_CHECKING:
    from orchestra.runtime.container import Container


async def open_email_notifier(
    container: Container, exits: contextlib.AsyncExitStack
) -> EmailNotifier | None:
    """Start the notifier when ``[plugins.email]`` has notification rules; None otherwise."""
    table = container.settings.plugins.get("email") or {}
    if not table.get("notifications"):
        return None
    plugins = PluginSettings(container.settings.plugins)
    secrets = EnvSecrets()

    def settings() -> EmailSettings:
        return plugins.section("email", EmailSettings, secrets)

    settings()  # a broken table is reported at start, not at the first failure

    async def task_for_run(run_id: str) -> Mapping[str, Any] | None:
        task = await container.tasks.tasks.for_run(run_id)
        if task is None:
            return None
        return {"id": task.id, "title": task.title, "agent": task.agent}

    notifier = EmailNotifier(settings, container.settings.project_dir, task_for_run=task_for_run)
    await notifier.start()
    exits.push_async_callback(notifier.close)
    exits.callback(container.feed.listen(notifier.observe))
    return notifier


__all__ = ["open_email_notifier"]
