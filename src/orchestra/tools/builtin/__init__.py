"""The built-in tools and the function that registers them."""

from __future__ import annotations

from orchestra.context.tools import NoContext, make_context_tools
from orchestra.messaging.tools import make_message_tools
from orchestra.tasks.delegate import NoDelegation, make_delegate_tools
from orchestra.tasks.tool import NoTasks, make_task_update_tool
from orchestra.tools.builtin import files, http_fetch, python_exec, shell
from orchestra.tools.builtin.web_search import SearchTransport, WebSearch, make_web_search_tool
from orchestra.tools.registry import ToolRegistry


def register_builtins(
    registry: ToolRegistry, *, search_transport: SearchTransport | None = None
) -> None:
    """Add ``files.*``, ``shell``, ``python``, ``python.install``, ``http.fetch``,
    ``web.search``, ``task.update``, ``delegate``, ``delegate.result``, ``messages.*`` and
    ``context.search``/``context.add``.

    ``search_transport`` replaces DuckDuckGo's HTTP exchange (tests, offline demos).
    """
    for t in (*files.TOOLS, *shell.TOOLS, *python_exec.TOOLS, *http_fetch.TOOLS):
        registry.register(t)
    registry.register(make_web_search_tool(WebSearch(search_transport)))
    # Known everywhere (validate checks agents' tool names); a task service replaces it
    # with one that stores the phase.
    registry.register(make_task_update_tool(NoTasks()))
    for delegate_tool in make_delegate_tools(NoDelegation()):  # likewise ``delegate``
        registry.register(delegate_tool)
    # Known everywhere too; a process with a message bus replaces them (runtime/container.py).
    for message_tool in make_message_tools(None):
        registry.register(message_tool)
    # Likewise ``context.search``/``context.add``; a process with a database replaces them.
    for context_tool in make_context_tools(NoContext()):
        registry.register(context_tool)


__all__ = ["register_builtins"]
