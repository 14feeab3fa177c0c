"""Email notifications for what happens in runs: ``[[plugins.email.notifications]]``.

Triggers:

* ``run_failed`` — a ``run_finished`` event whose status is ``failed``;
* ``approval_requested`` — an ``approval_requested`` event (a step waits for a human);
* ``task_complete`` — a run that succeeded and belongs to a task
  (``task_for_run`` finds the task; without it the trigger never fires).

The :class:`EmailNotifier` is an :class:`~orchestra.runtime.feed.EventFeed` listener:
:meth:`observe` only queues (a listener must not block a commit); one worker task,
started with :meth:`start` and drained by :meth:`close`, renders and sends. A failed
send is logged with the rule and the reason and never breaks the run it reports on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.integrations.email.compose import build_message, html_to_text, render
from orchestra.integrations.email.settings import EmailSettings, NotificationRule, Trigger
from orchestra.integrations.email.smtp import send_message
from orchestra.tools.errors import ToolError

log = logging.getLogger(__name__)

TaskLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]
"""run id -> a description of the task that run works on (id, title, agent), or None."""

DEFAULT_SUBJECTS: dict[str, str] = {
    "run_failed": "Orchestra: run {{ run_id }} failed",
    "approval_requested": "Orchestra: step {{ step_id }} of run {{ run_id }} waits for approval",
    "task_complete": "Orchestra: task {{ task.title }} is complete",
}

DEFAULT_TEMPLATE = """<html><body>
<h2>{{ subject }}</h2>
<table>
<tr><td>Event</td><td>{{ trigger }}</td></tr>
<tr><td>Run</td><td>{{ run_id }}</td></tr>
{% if step_id %}<tr><td>Step</td><td>{{ step_id }}</td></tr>{% endif %}
{% if task %}<tr><td>Task</td><td>{{ task.title }} ({{ task.id }})</td></tr>{% endif %}
{% if error %}<tr><td>Error</td><td>{{ error }}</td></tr>{% endif %}
{% if hint %}<tr><td>Approval</td><td>{{ hint }}</td></tr>{% endif %}
</table>
<p>Open it with <code>orchestra runs show {{ run_id }}</code>.</p>
</body></html>
"""


@dataclass(frozen=True)
class Notice:
    """One thing worth mailing about: its trigger and what the templates may show."""

    trigger: Trigger
    context: dict[str, Any]


def notice_for(event: ExecutionEvent) -> Notice | None:
    """The notice an event gives on its own (``task_complete`` needs the task lookup)."""
    base: dict[str, Any] = {"run_id": str(event.run_id), "step_id": event.step_id}
    if event.type is EventType.RUN_FINISHED and event.content.get("status") == "failed":
        error = event.content.get("error") or {}
        message = error.get("message") if isinstance(error, Mapping) else str(error)
        failed = event.content.get("failed_steps") or []
        return Notice("run_failed", {**base, "error": message, "failed_steps": failed})
    if event.type is EventType.APPROVAL_REQUESTED:
        return Notice("approval_requested", {**base, "hint": event.content.get("hint", "")})
    return None


class EmailNotifier:
    """Mails the notices the project's rules ask for; see the module docstring."""

    def __init__(
        self,
        settings: Callable[[], EmailSettings],
        project_dir: Path,
        *,
        task_for_run: TaskLookup | None = None,
    ) -> None:
        self._settings = settings
        self._project_dir = project_dir
        self._task_for_run = task_for_run
        self._queue: asyncio.Queue[ExecutionEvent | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.sent: list[tuple[Trigger, list[str]]] = []
        """(trigger, recipients) of every message sent, for diagnostics."""
        self.failures: list[str] = []

    def observe(self, event: ExecutionEvent) -> None:
        """Feed listener: queue the events a rule may care about; never blocks."""
        if event.type in (EventType.RUN_FINISHED, EventType.APPROVAL_REQUESTED):
            self._queue.put_nowait(event)

    async def start(self) -> None:
        self._worker = asyncio.create_task(self._drain(), name="orchestra-email-notifier")

    async def close(self) -> None:
        """Send what is queued, then stop."""
        if self._worker is None:
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    async def idle(self) -> None:
        """Wait until every queued event is handled (tests, orderly shutdown)."""
        await self._queue.join()

    async def _drain(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                if event is None:
                    return
                await self.handle(event)
            except Exception:  # a notification must never stop the notifier
                log.exception("email notification for %s failed", event)
            finally:
                self._queue.task_done()

    async def handle(self, event: ExecutionEvent) -> int:
        """Send what ``event`` triggers; the number of messages sent."""
        notice = notice_for(event)
        if (
            notice is None
            and event.type is EventType.RUN_FINISHED
            and event.content.get("status") == "succeeded"
            and self._task_for_run is not None
        ):
            task = await self._task_for_run(str(event.run_id))
            if task is not None:
                notice = Notice("task_complete", {"run_id": str(event.run_id), "task": dict(task)})
        return 0 if notice is None else await self.notify(notice)

    async def notify(self, notice: Notice) -> int:
        settings = self._settings()
        sent = 0
        for rule in settings.notifications:
            if rule.on != notice.trigger:
                continue
            try:
                await self._send(rule, notice, settings)
                sent += 1
            except ToolError as error:
                reason = f"notification {rule.on} to {', '.join(rule.to)} failed: {error.message}"
                log.warning(reason)
                self.failures.append(reason)
        return sent

    async def _send(self, rule: NotificationRule, notice: Notice, settings: EmailSettings) -> None:
        context: dict[str, Any] = {
            "trigger": notice.trigger,
            "step_id": None,
            "task": None,
            "error": None,
            "hint": None,
            "failed_steps": [],
            **notice.context,
        }
        subject = render(
            rule.subject or DEFAULT_SUBJECTS[notice.trigger], context, name="subject", html=False
        ).strip()
        context["subject"] = subject
        if rule.template is not None:
            path = self._project_dir / rule.template
            source = await asyncio.to_thread(path.read_text, encoding="utf-8")
            name = rule.template
        else:
            source, name = DEFAULT_TEMPLATE, "the built-in notification template"
        html = render(source, context, name=name, html=True)
        message = build_message(
            sender=settings.sender,
            to=rule.to,
            subject=subject,
            text=html_to_text(html),
            html=html,
            headers={
                "X-Orchestra-Trigger": notice.trigger,
                "X-Orchestra-Run": notice.context["run_id"],
            },
        )
        await send_message(message, settings, recipients=rule.to)
        self.sent.append((notice.trigger, list(rule.to)))


__all__ = ["DEFAULT_TEMPLATE", "EmailNotifier", "Notice", "notice_for"]
