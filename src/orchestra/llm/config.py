"""What the gateway is built from: LiteLLM's own ``model_list`` / ``router_settings``.

The format is LiteLLM's proxy config, so a LiteLLM user can paste theirs::

    model_list:
      - model_name: default                  # the alias agents name
        litellm_params:
          model: hosted_vllm/devstral        # provider/model
          api_base: http://gpu0:8000/v1
          rpm: 60
    router_settings:
      routing_strategy: least-busy
      fallbacks: [{default: [local]}]

:class:`GatewayConfig` holds plain values so it can be built without the
settings package; :meth:`GatewayConfig.from_settings` adapts the ``[models]``
section of ``orchestra.toml`` to it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from orchestra.llm.errors import ModelConfigError

LOCAL_ALIAS = "local"
LOCAL_MODEL = "orchestra-local/gemma-3-270m"
"""The LiteLLM model string of the embedded model (served by ``orchestra.llm.local``)."""

DEFAULT_PARALLEL = 2
"""Contexts of the embedded model when ``parallel`` is not set (fewer on a 1-core machine):
a workflow's parallel pair overlaps, and a sequential one still loads only one."""
MAX_PARALLEL = 16

CacheMode = Literal["off", "memory", "disk", "redis"]

INLINE_ROUTER_SETTINGS = "[models].router_settings in orchestra.toml"

_PROXY_ONLY: dict[str, str] = {
    "litellm_settings": "set retries and timeouts with [models].num_retries and "
    "[models].timeout_s, the cache with [models].cache",
    "general_settings": "the LiteLLM proxy server's own settings (master key, database, "
    "alerting); Orchestra's server has its own ([server] in orchestra.toml)",
    "environment_variables": "set them in the environment (or .env) of the Orchestra process",
}
"""Sections of a LiteLLM *proxy* config that a models file may carry but Orchestra ignores,
with what to do instead."""

log = logging.getLogger(__name__)


def user_cache_dir() -> Path:
    """``~/.cache/orchestra`` (or ``$XDG_CACHE_HOME/orchestra``): models and cached responses."""
    import os

    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "orchestra"


class LocalModelConfig(BaseModel):
    """How the embedded llama.cpp model runs. Defaults suit a laptop CPU."""

    model_config = ConfigDict(extra="forbid")

    model_path: Path | None = None
    """A GGUF file; None assembles the packaged Gemma 3 270M into the user cache."""
    n_ctx: int = Field(default=8192, ge=256)
    n_threads: int | None = Field(default=None, ge=1)
    """Threads of each context; None shares the cores out between the contexts."""
    seed: int = 0
    parallel: int | None = Field(default=None, ge=1, le=MAX_PARALLEL)
    """Calls served at once, one llama.cpp context each (:mod:`orchestra.llm.local_pool`);
    None is :data:`DEFAULT_PARALLEL`, at most one per core."""

    def contexts(self) -> int:
        """How many contexts the pool may load: ``parallel``, else ``min(2, cores)``."""
        if self.parallel is not None:
            return self.parallel
        return min(DEFAULT_PARALLEL, available_cores())

    def threads(self) -> int:
        """Threads per context: ``n_threads``, else the cores shared out between the
        contexts (at least one). Two contexts with a thread each beat one context with
        two threads taking turns, most of all on a loaded machine (docs/models.md)."""
        if self.n_threads is not None:
            return self.n_threads
        return max(1, available_cores() // self.contexts())


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the OS tells it)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class GatewayConfig(BaseModel):
    """Everything :func:`orchestra.llm.gateway.build_gateway` needs."""

    model_config = ConfigDict(extra="forbid")

    default: str = LOCAL_ALIAS
    """The alias a request for model ``default`` (or an agent without a model) goes to."""
    model_list: list[dict[str, Any]] = Field(default_factory=list)
    router_settings: dict[str, Any] = Field(default_factory=dict)
    models_file: Path | None = None
    """A LiteLLM-style YAML file with ``model_list`` and ``router_settings``, merged in."""
    cache: CacheMode = "disk"
    """Where responses go for requests that ask for caching (``ChatRequest.cache``)."""
    cache_dir: Path | None = None
    redis_url: str | None = None
    num_retries: int = 1
    """Retries per call on the same alias before fallbacks: the seed's "retry once, then fail"."""
    timeout_s: float | None = 600.0
    local: LocalModelConfig = Field(default_factory=LocalModelConfig)

    @classmethod
    def from_settings(cls, settings: object) -> GatewayConfig:
        """Adapt Orchestra settings (anything with a ``models`` section) to a gateway config.

        Read by attribute so this module does not depend on ``orchestra.config``.
        """
        models = getattr(settings, "models", settings)
        values: dict[str, Any] = {}
        for name in (
            "default",
            "model_list",
            "router_settings",
            "models_file",
            "cache",
            "cache_dir",
            "redis_url",
            "num_retries",
            "timeout_s",
        ):
            value = getattr(models, name, None)
            if value is not None:
                values[name] = value
        local = getattr(models, "local", None)
        if local is not None:  # ``[models.local]``: the embedded model's settings
            values["local"] = LocalModelConfig.model_validate(local, from_attributes=True)
        if values.get("cache") == "redis" and not values.get("redis_url"):
            redis_url = getattr(getattr(settings, "redis", None), "url", None)
            if redis_url:
                values["redis_url"] = str(redis_url)
        return cls.model_validate(values)

    def resolved(self) -> ResolvedModels:
        """Merge ``models_file`` into the inline lists and add the built-in ``local`` alias."""
        model_list = [dict(d) for d in self.model_list]
        router_settings = dict(self.router_settings)
        origins = dict.fromkeys(router_settings, INLINE_ROUTER_SETTINGS)
        if self.models_file is not None:
            file_list, file_settings = _read_models_file(self.models_file)
            model_list = file_list + model_list
            router_settings = {**file_settings, **router_settings}
            file_origin = f"{self.models_file}: router_settings"
            origins = {**dict.fromkeys(file_settings, file_origin), **origins}
        for index, deployment in enumerate(model_list):
            _check_deployment(deployment, index)
        aliases = {d["model_name"] for d in model_list}
        if LOCAL_ALIAS not in aliases:
            model_list.append({"model_name": LOCAL_ALIAS, "litellm_params": {"model": LOCAL_MODEL}})
        default = self.default
        if default not in aliases | {LOCAL_ALIAS} and "/" not in default:
            raise ModelConfigError(
                f"[models].default is {default!r}, which is not an alias in the model list "
                f"({', '.join(sorted(aliases | {LOCAL_ALIAS}))}). Set it to one of those."
            )
        return ResolvedModels(
            model_list=model_list,
            router_settings=router_settings,
            default=default,
            origins=origins,
        )


class ResolvedModels(BaseModel):
    """The merged, checked model list the Router is built from."""

    model_list: list[dict[str, Any]]
    router_settings: dict[str, Any]
    default: str
    origins: dict[str, str] = Field(default_factory=dict)
    """Where each router setting was written (a file, or orchestra.toml), for errors."""

    @property
    def aliases(self) -> list[str]:
        seen: dict[str, None] = {}
        for deployment in self.model_list:
            seen.setdefault(str(deployment["model_name"]), None)
        return list(seen)


def _read_models_file(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ModelConfigError(
            f"cannot read models file {path}: {exc.strerror}. Fix [models].models_file."
        ) from exc
    except yaml.YAMLError as exc:
        raise ModelConfigError(f"{path}: invalid YAML: {exc}. Fix the file's syntax.") from exc
    if not isinstance(data, dict):
        raise ModelConfigError(
            f"{path}: expected a mapping with 'model_list' and 'router_settings' keys."
        )
    _warn_ignored_sections(path, data)
    model_list = data.get("model_list") or []
    router_settings = data.get("router_settings") or {}
    if not isinstance(model_list, list) or not isinstance(router_settings, dict):
        raise ModelConfigError(
            f"{path}: 'model_list' must be a list and 'router_settings' a mapping "
            "(LiteLLM's proxy config format)."
        )
    return model_list, router_settings


def _warn_ignored_sections(path: Path, data: dict[Any, Any]) -> None:
    """Say which parts of a pasted LiteLLM proxy config Orchestra does not apply: silently
    dropping ``litellm_settings`` would leave a user believing their retries or cache hold."""
    for key in data:
        if key in ("model_list", "router_settings"):
            continue
        section = data[key]
        names = f" ({', '.join(map(str, section))})" if isinstance(section, dict) else ""
        hint = _PROXY_ONLY.get(str(key), "only model_list and router_settings are read")
        log.warning(
            "%s: %r%s is ignored: Orchestra reads only model_list and router_settings of a "
            "LiteLLM config; %s",
            path,
            key,
            names,
            hint,
        )


def _check_deployment(deployment: object, index: int) -> None:
    where = f"model_list[{index}]"
    if not isinstance(deployment, dict):
        raise ModelConfigError(f"{where} must be a mapping with model_name and litellm_params.")
    if not isinstance(deployment.get("model_name"), str) or not deployment["model_name"]:
        raise ModelConfigError(f"{where} needs 'model_name': the alias agents use.")
    params = deployment.get("litellm_params")
    if not isinstance(params, dict) or not isinstance(params.get("model"), str):
        raise ModelConfigError(
            f"{where} ({deployment['model_name']}) needs 'litellm_params.model', "
            "a LiteLLM model string such as 'hosted_vllm/devstral' or 'openai/gpt-4o-mini'."
        )
