"""Adapters that serve the project over agent protocols: MCP (tools and resources) and A2A.

Like :mod:`orchestra.api` and :mod:`orchestra.cli`, this package only adapts: it turns a
protocol request into a call on the runtime's services (:class:`RunService`, the key
service, the event bus) and the result back into the protocol's shape. Nothing below it
imports it. See docs/protocols.md.
"""
