"""The composition root: what ``orchestra serve`` (and later the CLI) run on.

:class:`~orchestra.runtime.container.Container` builds settings → database and
run store → event bus → model gateway → tool registry → step runner → engine,
plus the services the adapters call (:class:`~orchestra.runtime.runs.RunService`,
:class:`~orchestra.runtime.keys.KeyService`). Nothing here knows about HTTP.
"""
