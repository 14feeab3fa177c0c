"""A small MCP server (official SDK) the repo-tour example's guide agent uses.

It keeps a checklist in memory for as long as the server process lives: one
run, since Orchestra shares a run's MCP sessions between its steps and closes
them when the run ends. Agents see its tools as
``checklist.add``, ``checklist.check`` and ``checklist.show``.

Usage: python checklist_server.py   (speaks MCP over stdio)
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("checklist")
ITEMS: list[dict[str, object]] = []


@server.tool()
def add(text: str) -> str:
    """Add an item to the checklist; returns its number."""
    ITEMS.append({"text": text, "done": False})
    return f"added item {len(ITEMS)}: {text}"


@server.tool()
def check(number: int) -> str:
    """Mark item ``number`` (1-based) as done."""
    if not 1 <= number <= len(ITEMS):
        raise ValueError(f"there is no item {number}; the checklist has {len(ITEMS)} items")
    ITEMS[number - 1]["done"] = True
    return f"checked item {number}"


@server.tool()
def show() -> str:
    """The whole checklist as Markdown."""
    if not ITEMS:
        return "(the checklist is empty)"
    return "\n".join(
        f"- [{'x' if item['done'] else ' '}] {number}. {item['text']}"
        for number, item in enumerate(ITEMS, start=1)
    )


if __name__ == "__main__":
    server.run("stdio")
