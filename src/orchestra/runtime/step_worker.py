"""The host an ``orchestra worker`` runs steps with: the worker profile's step execution.

The worker profile (:class:`~orchestra.runtime.worker.Worker`: store, gateway, tools,
engine) is opened on the consumer's event loop; its engine's
:class:`~orchestra.engine.execution.StepExecution` runs every delivered step, exactly as
the local executor would in ``orchestra run``. What a step needs comes from the run's
pinned definition in the store plus this process's own settings: models
(``[models]``), tool settings (``[tools]``, ``[workspaces]``) and the project folder
for file tools and skills' resources; no workflow files are read.
"""

from __future__ import annotations

from orchestra.config.settings import Settings
from orchestra.distributed.consumer import Host
from orchestra.runtime.worker import Worker


async def open_step_host(settings: Settings) -> Host:
    worker = await Worker.open(settings)
    try:
        # LiteLLM's import takes seconds: pay it before taking the first message, not
        # inside the first step (whose lease and the driver's wait would pay it).
        await worker.parts.gateway.ready()
    except BaseException:
        await worker.close()
        raise
    execution = worker.engine.execution
    if execution is None:  # pragma: no cover - the profile always builds one
        await worker.close()
        raise RuntimeError("the worker profile has no in-process step execution")
    return Host(execution, worker.close)
