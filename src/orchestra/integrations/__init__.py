"""First-party tool plugins: integrations that share the tool registry with the built-ins.

Each subpackage (``browser``, ``sheets``, ``research``...) exposes a
``register(registry)`` function named by an ``orchestra.tools`` entry point in
Orchestra's own ``pyproject.toml``, so it is found exactly like a third party's
plugin (:meth:`orchestra.tools.registry.ToolRegistry.load_plugins`) and its tools
get the source ``plugin:orchestra``. Their libraries (Playwright, openpyxl,
gspread, trafilatura) live in the ``integrations`` extra and are imported only
when a tool runs, so registering them costs nothing and a missing extra is a
clear tool error, not a broken registry.
"""
