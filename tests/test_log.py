"""Logging transports, run context, tracebacks, rotation and redaction."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestra.config import Settings
from orchestra.log import (
    CONSOLE_HANDLER,
    FILE_HANDLER,
    current_log_context,
    log_context,
    setup_logging,
    teardown_logging,
)

log = logging.getLogger("orchestra.test_log")


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    teardown_logging()
    root.setLevel(level)


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def ours(name: str) -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if h.get_name() == name]


def test_file_records_carry_run_fields_inside_a_context(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    setup_logging(log_file=path, console=False)
    log.info("before")
    with log_context(run_id="run-1", agent="Lincoln"):
        log.info("in run")
        with log_context(step_id="research"):
            log.info("in step %d", 1, extra={"attempt": 2})
        log.info("back in run")
    first, in_run, in_step, back = records(path)
    assert (first["run_id"], first["step_id"], first["agent"]) == (None, None, None)
    assert (in_run["run_id"], in_run["step_id"], in_run["agent"]) == ("run-1", None, "Lincoln")
    assert in_step["message"] == "in step 1"
    assert (in_step["run_id"], in_step["step_id"], in_step["agent"]) == (
        "run-1",
        "research",
        "Lincoln",
    )
    assert in_step["attempt"] == 2
    assert in_step["level"] == "INFO"
    assert in_step["logger"] == "orchestra.test_log"
    assert back["step_id"] is None
    assert current_log_context() == {}


async def test_run_fields_follow_asyncio_tasks(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    setup_logging(log_file=path, console=False)
    release = asyncio.Event()

    async def step(step_id: str, agent: str) -> None:
        with log_context(step_id=step_id, agent=agent):
            await release.wait()  # both steps are in flight at the same time
            log.info("working")

    with log_context(run_id="run-7"):
        tasks = [
            asyncio.create_task(step("a", "Lincoln")),
            asyncio.create_task(step("b", "Shaun")),
        ]
    # The run context block has ended; the tasks keep the context they were created in.
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks)
    working = [r for r in records(path) if r["message"] == "working"]
    stamped = sorted((r["run_id"], r["step_id"], r["agent"]) for r in working)
    assert stamped == [("run-7", "a", "Lincoln"), ("run-7", "b", "Shaun")]


def fail_deep() -> None:
    raise ZeroDivisionError("nothing to divide")


def test_exceptions_keep_their_traceback(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    setup_logging(log_file=path, console=False)
    try:
        fail_deep()
    except ZeroDivisionError:
        log.exception("step failed")
    (entry,) = records(path)
    assert entry["message"] == "step failed"
    trace = str(entry["exc_info"])
    assert trace.startswith("Traceback (most recent call last):")
    assert "in fail_deep" in trace
    assert trace.rstrip().endswith("ZeroDivisionError: nothing to divide")


def test_file_rotates_and_keeps_the_configured_backups(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "o.jsonl"
    setup_logging(log_file=path, console=False, max_bytes=2000, backups=2)
    for index in range(200):
        log.info("record %03d %s", index, "x" * 40)
    teardown_logging()
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["o.jsonl", "o.jsonl.1", "o.jsonl.2"]
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir())
    assert records(path)[-1]["message"] == "record 199 " + "x" * 40


def test_settings_choose_level_file_and_secrets(tmp_path: Path) -> None:
    settings = Settings(
        project_dir=tmp_path,
        log_level="WARNING",
        database={"url": "postgresql+asyncpg://bob:hunter22@db/orchestra"},
        models={
            "model_list": [
                {"model_name": "m", "litellm_params": {"model": "x/y", "api_key": "plain-key-42"}}
            ]
        },
    )
    setup_logging(settings, console=False)
    log.info("not at WARNING")
    log.warning("connecting to %s", settings.database.url)
    log.warning("key is plain-key-42, header Bearer abc.def.ghi, openai sk-proj-12345678")
    try:
        raise RuntimeError("login failed for password hunter22")
    except RuntimeError:
        log.exception("db error", extra={"dsn": "bob:hunter22@db"})
    text = settings.log_file.read_text(encoding="utf-8")
    for secret in ("hunter22", "plain-key-42", "abc.def.ghi", "sk-proj-12345678"):
        assert secret not in text
    connect, key, error = records(settings.log_file)
    assert connect["message"] == "connecting to postgresql+asyncpg://bob:***@db/orchestra"
    assert key["message"] == "key is ***, header Bearer ***, openai sk-***"
    assert "RuntimeError: login failed for password ***" in str(error["exc_info"])
    assert error["dsn"] == "bob:***@db"


def test_setup_twice_does_not_duplicate_handlers(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    stream = io.StringIO()
    setup_logging(log_file=path, console_stream=stream)
    setup_logging(log_file=path, console_stream=stream)
    assert len(ours(CONSOLE_HANDLER)) == 1
    assert len(ours(FILE_HANDLER)) == 1
    log.info("once")
    assert [r["message"] for r in records(path)] == ["once"]
    assert stream.getvalue().count("once") == 1


def test_console_shows_level_message_and_run_fields(tmp_path: Path) -> None:
    stream = io.StringIO()
    setup_logging(level="DEBUG", console_stream=stream, file=False)
    with log_context(run_id="r9", step_id="s1", agent="Shaun"):
        log.debug("updating sheet token=abcd1234")
    output = stream.getvalue()
    assert "DEBUG" in output
    assert "updating sheet token=***" in output
    assert "[run_id=r9 step_id=s1 agent=Shaun]" in output
    assert not ours(FILE_HANDLER)


def test_teardown_leaves_foreign_handlers(tmp_path: Path) -> None:
    foreign = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(foreign)
    try:
        setup_logging(log_file=tmp_path / "o.jsonl", console=False)
        teardown_logging()
        assert foreign in root.handlers
        assert not ours(FILE_HANDLER)
    finally:
        root.removeHandler(foreign)


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="not one of DEBUG, INFO, WARNING, ERROR"):
        setup_logging(level="LOUD", console=False)
