"""`orchestra models ...`: what models are configured, and does one answer?

LiteLLM takes seconds to import, so everything beyond Typer is imported
inside the command bodies.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root

if TYPE_CHECKING:
    from pathlib import Path

    from orchestra.llm.config import GatewayConfig

app = typer.Typer(help="List the configured models and probe them.", no_args_is_help=True)


def _gateway_config(project: Path | None) -> GatewayConfig:
    from orchestra.config import ConfigError, load_settings
    from orchestra.llm.config import GatewayConfig

    try:
        settings = load_settings(project_root(project))
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    config = GatewayConfig.from_settings(settings)
    if config.models_file is not None and not config.models_file.is_absolute():
        config = config.model_copy(
            update={"models_file": settings.project_dir / config.models_file}
        )
    return config


@app.command("list")
def list_models(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Show every alias, its deployments and whether each is reachable."""
    from orchestra.llm.errors import ModelConfigError
    from orchestra.llm.health import check_all

    config = _gateway_config(project)
    try:
        resolved = config.resolved()
    except ModelConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    health = asyncio.run(check_all(resolved.model_list, config.local))
    if as_json:
        payload = {
            "default": resolved.default,
            "router_settings": resolved.router_settings,
            "deployments": [h.model_dump() for h in health],
        }
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Models (default: {resolved.default})")
    for column in ("alias", "model", "api_base", "health", "detail"):
        table.add_column(column)
    for h in health:
        colour = {"up": "green", "ready": "green", "down": "red"}.get(h.state, "yellow")
        table.add_row(h.alias, h.model, h.api_base or "", f"[{colour}]{h.state}[/]", h.detail)
    Console().print(table)


@app.command("test")
def probe_model(
    alias: Annotated[str, typer.Argument(help="An alias, 'default', or a LiteLLM model string.")],
    project: ProjectOption = None,
    prompt: Annotated[str, typer.Option(help="What to send.")] = "Say hello in five words.",
    max_tokens: Annotated[int, typer.Option(help="Answer length limit.")] = 32,
    as_json: JsonOption = False,
) -> None:
    """Send one probe call and print the answer, latency and tokens."""
    from orchestra.llm.errors import LLMError
    from orchestra.llm.gateway import build_gateway
    from orchestra.llm.types import ChatMessage, ChatRequest

    config = _gateway_config(project).model_copy(update={"cache": "off"})

    async def probe() -> dict[str, object]:
        gateway = build_gateway(config)
        try:
            request = ChatRequest(
                model=alias,
                messages=[ChatMessage(role="user", content=prompt)],
                max_tokens=max_tokens,
            )
            response = await gateway.chat(request)
        finally:
            await gateway.close()
        return {"content": response.content, **response.usage.model_dump()}

    try:
        result = asyncio.run(probe())
    except LLMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"answer:     {result['content']}")
    typer.echo(f"deployment: {result['deployment']}")
    typer.echo(
        f"latency:    {result['latency_s']:.2f} s   tokens: {result['prompt_tokens']} in / "
        f"{result['completion_tokens']} out   cost: ${result['cost_usd']:.6f}"
    )
    if result["retries"] or result["fallbacks"]:
        typer.echo(f"retries:    {result['retries']}   fallbacks: {result['fallbacks']}")
