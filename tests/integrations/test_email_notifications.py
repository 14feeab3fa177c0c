"""Notification rules (``[[plugins.email.notifications]]``): the events of a run become
messages on a real SMTP server (aiosmtpd), through the notifier the server wires to its
event feed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId
from orchestra.integrations.email.notifications import EmailNotifier
from orchestra.integrations.email.settings import EmailSettings
from orchestra.runtime.feed import EventFeed
from tests.integrations.smtp_server import Inbox, smtp_inbox

__all__ = ["smtp_inbox"]


def event(kind: EventType, content: dict[str, Any], step: str | None = None) -> ExecutionEvent:
    return ExecutionEvent(
        kind, time.time(), RunId("run-7"), StepId(step) if step else None, 3, content
    )


def settings(inbox: Inbox, rules: list[dict[str, Any]]) -> EmailSettings:
    return EmailSettings.model_validate(
        {
            "host": inbox.host,
            "port": inbox.port,
            "sender": "bot@example.com",
            "notifications": rules,
        }
    )


async def test_a_failed_run_mails_the_rule_recipients_with_the_project_template(
    tmp_path: Path, smtp_inbox: Inbox
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "failed.html.j2").write_text(
        "<p>Run {{ run_id }} failed: {{ error }}</p><p>Steps: {{ failed_steps | join(', ') }}</p>"
    )
    rules = [
        {
            "on": "run_failed",
            "to": ["oncall@example.com"],
            "template": "templates/failed.html.j2",
            "subject": "FAILED {{ run_id }}",
        },
        {"on": "approval_requested", "to": ["boss@example.com"]},
    ]
    notifier = EmailNotifier(lambda: settings(smtp_inbox, rules), tmp_path)
    feed = EventFeed()
    feed.listen(notifier.observe)
    await notifier.start()
    feed.publish(
        [
            event(EventType.RUN_STARTED, {}),
            event(
                EventType.RUN_FINISHED,
                {
                    "status": "failed",
                    "usage": {},
                    "failed_steps": ["build", "test"],
                    "error": {"type": "StepFailed", "message": "model <timeout>"},
                },
            ),
        ]
    )
    await notifier.idle()
    await notifier.close()

    [got] = smtp_inbox.messages
    assert got.envelope_to == ["oncall@example.com"]
    msg = got.message
    assert msg["Subject"] == "FAILED run-7"
    assert msg["X-Orchestra-Trigger"] == "run_failed"
    assert msg["X-Orchestra-Run"] == "run-7"
    html = msg.get_body(preferencelist=("html",))
    text = msg.get_body(preferencelist=("plain",))
    assert html is not None and text is not None
    assert "Run run-7 failed: model &lt;timeout&gt;" in html.get_content()
    assert "Steps: build, test" in text.get_content()


async def test_approval_requests_and_completed_tasks_use_the_built_in_template(
    tmp_path: Path, smtp_inbox: Inbox
) -> None:
    rules = [
        {"on": "approval_requested", "to": ["boss@example.com"]},
        {"on": "task_complete", "to": ["team@example.com", "pm@example.com"]},
    ]

    async def task_for_run(run_id: str) -> dict[str, Any] | None:
        return {"id": "t-1", "title": "Write the guide"} if run_id == "run-7" else None

    notifier = EmailNotifier(
        lambda: settings(smtp_inbox, rules), tmp_path, task_for_run=task_for_run
    )
    sent = await notifier.handle(
        event(EventType.APPROVAL_REQUESTED, {"hint": "publish the post?"}, step="publish")
    )
    sent += await notifier.handle(
        event(EventType.RUN_FINISHED, {"status": "succeeded", "usage": {}})
    )
    # A run that failed is not a completed task; with no run_failed rule nothing is sent.
    sent += await notifier.handle(event(EventType.RUN_FINISHED, {"status": "failed", "usage": {}}))
    assert sent == 2

    approval, done = smtp_inbox.messages
    assert approval.envelope_to == ["boss@example.com"]
    assert approval.message["Subject"] == "Orchestra: step publish of run run-7 waits for approval"
    body = approval.message.get_body(preferencelist=("plain",))
    assert body is not None and "publish the post?" in body.get_content()
    assert sorted(done.envelope_to) == ["pm@example.com", "team@example.com"]
    assert done.message["Subject"] == "Orchestra: task Write the guide is complete"


async def test_a_send_that_fails_is_recorded_and_the_notifier_keeps_going(
    tmp_path: Path, smtp_inbox: Inbox
) -> None:
    rules = [{"on": "run_failed", "to": ["oncall@example.com"]}]
    dead = EmailSettings.model_validate({"host": "127.0.0.1", "port": 1, "notifications": rules})
    current = [dead]
    notifier = EmailNotifier(lambda: current[0], tmp_path)
    failed = event(EventType.RUN_FINISHED, {"status": "failed", "usage": {}})
    assert await notifier.handle(failed) == 0
    assert "cannot connect" in notifier.failures[0]
    current[0] = settings(smtp_inbox, rules)
    assert await notifier.handle(failed) == 1
    assert len(smtp_inbox.messages) == 1
