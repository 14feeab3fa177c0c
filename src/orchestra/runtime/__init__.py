"""The composition root: small builders composed into process profiles.

:mod:`orchestra.runtime.builders` builds one component each (database, run store
and event bus, gateway, tools, step runner, engine with the executor named in
``[engine] executor``). :mod:`orchestra.runtime.worker` composes the **worker**
profile (store + engine + executor + gateway + tools, no HTTP);
:class:`~orchestra.runtime.container.Container` is the **server** profile: the
worker's parts plus the services the adapters call
(:class:`~orchestra.runtime.runs.RunService`,
:class:`~orchestra.runtime.keys.KeyService`). Nothing here knows about HTTP; only
the adapters (``api``, ``cli``) import this package (an import-linter contract).
"""
