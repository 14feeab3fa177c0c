"""Is each configured deployment reachable? Used by ``orchestra models list``.

Cheap checks only, never a paid call: an OpenAI-compatible server (any
deployment with an ``api_base``) is asked for ``GET {api_base}/models``; a
hosted API is checked for its key in the environment; the local model for its
extra and model file; scripted models are always ready.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from pydantic import BaseModel

from orchestra.llm.config import LocalModelConfig

State = Literal["up", "down", "ready", "missing", "no key", "unknown"]


class DeploymentHealth(BaseModel):
    alias: str
    model: str
    api_base: str | None = None
    state: State
    detail: str = ""


async def check_deployment(
    deployment: dict[str, Any], local: LocalModelConfig, timeout_s: float = 2.0
) -> DeploymentHealth:
    """The health of one ``model_list`` entry."""
    params: dict[str, Any] = deployment.get("litellm_params", {})
    model = str(params.get("model", ""))
    base = dict(alias=str(deployment["model_name"]), model=model, api_base=params.get("api_base"))
    provider = model.split("/", 1)[0]
    if provider == "scripted":
        return DeploymentHealth(**base, state="ready", detail="scripted model (tests, demos)")
    if provider == "orchestra-local":
        return await asyncio.to_thread(_local_health, base, local)
    if params.get("api_base"):
        url = str(params["api_base"]).rstrip("/") + "/models"
        headers = {}
        key = params.get("api_key")
        if isinstance(key, str) and not key.startswith("os.environ/"):
            headers["Authorization"] = f"Bearer {key}"
        try:
            async with httpx.AsyncClient(timeout=timeout_s) as client:
                response = await client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            return DeploymentHealth(**base, state="down", detail=f"{type(exc).__name__}: {exc}")
        if response.status_code < 500:
            return DeploymentHealth(
                **base, state="up", detail=f"GET /models -> {response.status_code}"
            )
        return DeploymentHealth(
            **base, state="down", detail=f"GET /models -> {response.status_code}"
        )
    from orchestra.llm.providers import prepare_litellm

    prepare_litellm()
    import litellm

    try:
        env = litellm.validate_environment(model=model)
    except Exception as exc:  # LiteLLM raises plain exceptions for unknown providers
        return DeploymentHealth(**base, state="unknown", detail=str(exc)[:200])
    if env.get("keys_in_environment") or params.get("api_key"):
        return DeploymentHealth(**base, state="ready", detail="API key set (not probed)")
    missing = ", ".join(env.get("missing_keys") or [])
    return DeploymentHealth(**base, state="no key", detail=f"set {missing}")


def _local_health(base: dict[str, Any], local: LocalModelConfig) -> DeploymentHealth:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return DeploymentHealth(
            **base, state="missing", detail="install the local extra: uv sync --extra local"
        )
    from orchestra.llm.errors import LocalModelUnavailable
    from orchestra.llm.local import ensure_model_file

    try:
        path = ensure_model_file(local)
    except LocalModelUnavailable as exc:
        return DeploymentHealth(**base, state="missing", detail=str(exc))
    return DeploymentHealth(**base, state="ready", detail=str(path))


async def check_all(
    model_list: list[dict[str, Any]], local: LocalModelConfig
) -> list[DeploymentHealth]:
    """Health of every deployment, checked concurrently."""
    return list(await asyncio.gather(*(check_deployment(d, local) for d in model_list)))
