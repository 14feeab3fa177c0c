"""Steps on Celery workers over Redis, with the store (PostgreSQL) as the source of truth.

:class:`~orchestra.distributed.executor.CeleryExecutor` (entry point ``celery`` of
``orchestra.executors``) sends a ready step's ids to a queue; an ``orchestra worker``
(:mod:`orchestra.distributed.consumer`) runs it with the engine's own
:class:`~orchestra.engine.execution.StepExecution` against the shared store. Every
module imports Celery and Redis lazily: the default install never loads them.
"""
