"""The model gateway's aliases and deployments, and a probe that calls one."""

from __future__ import annotations

import time

from fastapi import APIRouter

from orchestra.api import schemas
from orchestra.api.deps import Operator, Services, Viewer, audit
from orchestra.api.errors import not_found
from orchestra.api.routes import ERRORS
from orchestra.llm.errors import LLMError
from orchestra.llm.gateway import DEFAULT_ALIAS
from orchestra.llm.types import ChatMessage, ChatRequest

router = APIRouter(prefix="/models", tags=["models"], responses=ERRORS)


@router.get("", response_model=list[schemas.ModelAlias])
async def list_models(who: Viewer, services: Services) -> list[schemas.ModelAlias]:
    """Aliases and their deployments (LiteLLM ``model_list`` entries, secrets masked).

    ``default`` is listed too when the model list does not name it itself: it then
    stands for ``[models].default`` (``alias_of``), an alias or a provider model string.
    """
    gateway = services.gateway
    grouped: dict[str, list[dict[str, object]]] = {}
    for deployment in gateway.deployments():
        grouped.setdefault(str(deployment.get("model_name")), []).append(deployment)
    listed = [schemas.ModelAlias(alias=a, deployments=d) for a, d in sorted(grouped.items())]
    if DEFAULT_ALIAS not in grouped:
        target = gateway.models.default
        deployments = grouped.get(target) or [
            {"model_name": target, "litellm_params": {"model": target}}
        ]
        listed.insert(
            0, schemas.ModelAlias(alias=DEFAULT_ALIAS, deployments=deployments, alias_of=target)
        )
    return listed


@router.post("/{alias}/probe", response_model=schemas.ProbeResult)
async def probe_model(alias: str, who: Operator, services: Services) -> schemas.ProbeResult:
    """Send one tiny request to the alias (``default`` included); report latency and usage,
    or the error."""
    gateway = services.gateway
    known = [DEFAULT_ALIAS, *(a for a in gateway.aliases if a != DEFAULT_ALIAS)]
    if alias not in known:
        raise not_found(f"no model alias {alias!r}; aliases: {', '.join(known)}")
    request = ChatRequest(
        model=alias,
        messages=[ChatMessage(role="user", content="Reply with the single word: pong")],
        max_tokens=8,
        metadata={"purpose": "probe"},
    )
    started = time.perf_counter()
    try:
        response = await gateway.chat(request)
    except LLMError as error:
        result = schemas.ProbeResult(ok=False, latency_s=None, usage=None, error=str(error))
    else:
        result = schemas.ProbeResult(
            ok=True,
            latency_s=round(time.perf_counter() - started, 4),
            usage=response.usage.model_dump(mode="json"),
            error=None,
        )
    await audit(services, who, "model.probe", alias, {"ok": result.ok})
    return result
