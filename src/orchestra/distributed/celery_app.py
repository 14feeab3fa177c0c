"""The Celery application both sides share: the settings that make a step's message
safe to lose, and the one task, ``orchestra.execute_step(run_id, step_id)``.

Settings chosen (docs/deployment.md explains the caveats):

* ``task_acks_late``: a message is acknowledged after the step's attempt ended, so a
  worker killed mid-step leaves it unacknowledged; ``task_reject_on_worker_lost`` too.
* ``worker_prefetch_multiplier = 1``: a worker reserves no more messages than it has
  threads, so a backlog on one worker never holds steps another could run.
* ``visibility_timeout`` (Redis): when Redis delivers an unacknowledged message again.
  A step may run longer (its lease is renewed, not the message): a second delivery
  finds the step held by a live lease and is dropped, so the timeout is only a backstop
  behind the executor's reconciler, which re-sends as soon as a lease expires.
* No result backend: the outcome is read from the store, which is the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from orchestra.distributed.config import DistributedConfig

if TYPE_CHECKING:
    from celery import Celery

TASK = "orchestra.execute_step"

StepHandler = Callable[[str, str], None]
"""Runs ``(run_id, step_id)`` to the end of its attempt (blocking: a Celery thread)."""


def make_app(config: DistributedConfig, handler: StepHandler | None = None) -> Celery:
    """A Celery app on ``config.broker_url``; with ``handler``, the worker side (the task
    is registered and calls it)."""
    from celery import Celery

    app = Celery("orchestra", broker=config.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=config.default_queue,
        task_create_missing_queues=True,
        broker_transport_options={"visibility_timeout": config.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        enable_utc=True,
    )
    if handler is not None:
        run = handler

        @app.task(name=TASK, ignore_result=True)  # type: ignore[untyped-decorator]
        def execute_step(run_id: str, step_id: str) -> None:
            run(run_id, step_id)

    return app
