"""A workflow step answered by a remote A2A agent (``a2a:`` in the agent file) through the
a2a-sdk client, against a peer built with the SDK's own server classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.engine.states import RunStatus
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.tools.secret_store import EncryptedSecrets
from tests.api.project import scripts, settings_for, write_project
from tests.protocols.sdk_peer import sdk_peer

RELAY = """---
name: relay
inputs:
  Words: {required: true}
---
## Step: ask
* **Agent:** [Peer](../agents/peer.agent.md)
* **Input:** ${Words}
* **Output:** ${Shout}

Shout ${Words}.
"""


def _project(root: Path, urls: list[str], extra: str = "") -> Path:
    root = write_project(root)
    listed = ", ".join(urls)
    (root / "agents" / "peer.agent.md").write_text(
        f"---\nname: peer\na2a: [{listed}]\n{extra}---\n"
    )
    (root / "workflows" / "relay.workflow.md").write_text(RELAY)
    return root


async def _run(root: Path, words: str) -> tuple[RunStatus, dict[str, str], object]:
    container = await Container.open(
        settings_for(root), ContainerOptions(scripts=scripts(), refresh_s=None, resume=False)
    )
    try:
        run_id = await container.runs.start_run("relay", {"Words": words})
        record = await container.runs.wait(run_id)
        outputs = dict(record.steps["ask"].outputs)  # type: ignore[index]
        events = await container.store.read_events(run_id, 0)
        return record.status, outputs, (record, events)
    finally:
        await container.close()


async def test_remote_agent_answers_the_step_with_its_bearer_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEER_TOKEN", "s3cret")
    async with sdk_peer("loud", token="s3cret") as (url, executor):
        root = _project(tmp_path, [url], "a2a_token: os.environ/PEER_TOKEN\n")
        status, outputs, (_record, events) = await _run(root, "quiet words")
    assert status is RunStatus.SUCCEEDED
    assert outputs == {"Shout": "loud: SHOUT QUIET WORDS."}
    assert executor.received == ["Shout quiet words."]
    logs = [e.content["message"] for e in events if e.type.value == "log"]  # type: ignore[attr-defined]
    assert any("loud is shouting" in m for m in logs)


async def test_a_failed_remote_task_fails_the_step_with_the_peers_reason(tmp_path: Path) -> None:
    async with sdk_peer("loud") as (url, _executor):
        root = _project(tmp_path, [url])
        status, _outputs, (record, _events) = await _run(root, "fail please")
    assert status is RunStatus.FAILED
    error = record.steps["ask"].error  # type: ignore[attr-defined]
    assert "cannot shout that" in error["message"]


async def test_round_robin_spreads_steps_over_the_peers_endpoints(tmp_path: Path) -> None:
    async with sdk_peer("one") as (first, one), sdk_peer("two") as (second, two):
        root = _project(tmp_path, [first, second])
        container = await Container.open(
            settings_for(root), ContainerOptions(scripts=scripts(), refresh_s=None, resume=False)
        )
        try:
            for words in ("a", "b", "c", "d"):
                run_id = await container.runs.start_run("relay", {"Words": words})
                assert (await container.runs.wait(run_id)).status is RunStatus.SUCCEEDED
        finally:
            await container.close()
    assert len(one.received) == 2
    assert len(two.received) == 2


async def test_the_peer_token_can_live_in_the_encrypted_store(tmp_path: Path) -> None:
    async with sdk_peer("loud", token="from-the-store") as (url, _executor):
        root = _project(tmp_path, [url], "a2a_token: os.environ/STORED_PEER_TOKEN\n")
        EncryptedSecrets.open(root / ".orchestra").set("STORED_PEER_TOKEN", "from-the-store")
        status, outputs, _ = await _run(root, "hi")
    assert status is RunStatus.SUCCEEDED
    assert outputs == {"Shout": "loud: SHOUT HI."}
