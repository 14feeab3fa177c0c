"""First-party tool plugins (GitHub, email, PDF, research, browser, sheets).

Each subpackage registers its tools through the ``orchestra.tools`` entry points in
pyproject.toml, exactly like a third-party plugin; their libraries live in the
``integrations`` extra and are imported only when a tool runs.
"""
