"""The example ``research-report`` workflow end to end, as shipped in ``examples/``: the
reporter reads a page served here (web.read), writes a brief with references
(research.brief), renders output/report.md with a chart (pdf.render), and the mailer sends
the PDF to a real SMTP server (aiosmtpd). Only the model is scripted: it makes the tool
calls a model would, and every tool runs for real through the engine."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestra.config import load_settings
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from tests.integrations.pdf_pages import pdf_text
from tests.integrations.smtp_server import Inbox, smtp_inbox
from tests.integrations.test_research import Handler, site

__all__ = ["site", "smtp_inbox"]

EXAMPLES = Path(__file__).parents[2] / "examples"
REPORT = (
    "# Berlin's CTOs\n\nMost new CTOs in Berlin came from larger firms [1].\n\n"
    "![Hires by origin](chart:origin)\n"
)


def _step_of(messages: list[dict[str, Any]]) -> str:
    prompt = " ".join(str(m.get("content")) for m in messages if m.get("role") == "user")
    if "Email the report" in prompt:
        return "send"
    if "Write output/report.md" in prompt:
        return "report"
    return "research"


def _script(site_url: str) -> Any:
    """What a model would do in each step: the next tool call, then the step's answer."""

    def script(messages: list[dict[str, Any]]) -> Reply:
        done = len([m for m in messages if m.get("role") == "tool"])
        plan: dict[str, list[ScriptedToolCall]] = {
            "research": [
                ScriptedToolCall("web.read", {"url": site_url + "/report"}),
                ScriptedToolCall(
                    "research.brief",
                    {"title": "CTOs in Berlin", "body": "CTOs come from larger firms [1]."},
                ),
            ],
            "report": [
                ScriptedToolCall("files.write", {"path": "output/report.md", "content": REPORT}),
                ScriptedToolCall(
                    "pdf.render",
                    {
                        "source": "output/report.md",
                        "charts": {
                            "origin": {
                                "kind": "bar",
                                "labels": ["Larger firms", "Startups"],
                                "series": {"2025": [31, 12]},
                            }
                        },
                    },
                ),
            ],
            "send": [
                ScriptedToolCall(
                    "email.send",
                    {
                        "to": ["ada@example.com"],
                        "subject": "Report: CTOs in Berlin",
                        "text": "The report is attached. Most CTOs come from larger firms.",
                        "attachments": ["output/report.pdf"],
                    },
                )
            ],
        }[_step_of(messages)]
        if done < len(plan):
            return Reply(tool_calls=[plan[done]])
        answers = {"research": "CTOs come from larger firms [1].", "report": "output/report.pdf"}
        return Reply(text=answers.get(_step_of(messages), "sent"))

    return script


@pytest.fixture
def project(tmp_path: Path, smtp_inbox: Inbox) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    (root / "orchestra.toml").write_text(
        '[models]\ndefault = "scripted/writer"\n\n'
        "[tools]\nallow_private_network = true\n\n"
        f'[plugins.email]\nhost = "{smtp_inbox.host}"\nport = {smtp_inbox.port}\n'
        'sender = "Orchestra <bot@example.com>"\nallowed_recipients = ["*@example.com"]\n'
    )
    return root


async def test_research_then_pdf_then_email(
    project: Path, site: str, smtp_inbox: Inbox, tmp_path: Path
) -> None:
    scripts = ScriptRegistry()
    scripts.register("writer", _script(site), repeat_last=True)
    container = await Container.open(
        load_settings(project, env={}), ContainerOptions(refresh_s=None, scripts=scripts)
    )
    try:
        run_id = await container.runs.start_run(
            "research-report", {"Topic": "CTOs in Berlin", "Recipient": "ada@example.com"}
        )
        record = await container.runs.wait(run_id)
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED, record.error
    assert "/report" in Handler.hits, "the page was never read"

    workspace = Path(container.settings.workspaces.root) / run_id
    brief = (workspace / "output" / "brief.md").read_text()
    assert f"{site}/report" in brief.split("## References", 1)[1]
    pdf = workspace / "output" / "report.pdf"
    assert "Most new CTOs in Berlin came from larger firms" in pdf_text(pdf)

    [mail] = smtp_inbox.messages
    assert mail.envelope_to == ["ada@example.com"]
    assert mail.message["Subject"] == "Report: CTOs in Berlin"
    [attached] = list(mail.message.iter_attachments())
    assert attached.get_filename() == "report.pdf"
    assert attached.get_content() == pdf.read_bytes()
