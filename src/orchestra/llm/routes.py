"""Which way the calls of a model group go: straight to the model, or through LiteLLM.

A group (an alias, or a model string given a direct route) has one or more
deployments. Each deployment is called one of three ways:

* ``in_process``: an Orchestra provider that answers in this process
  (``scripted/…``, ``orchestra-local/…``, a plugin with ``in_process()``), called
  directly; no LiteLLM, no HTTP-shaped objects;
* ``openai``: an OpenAI-compatible server (``openai/``, ``hosted_vllm/``,
  ``openrouter/`` with only ``api_base``, ``api_key``, ``organization``,
  ``timeout``, ``order``, ``weight``), called with the ``openai`` SDK;
* ``litellm``: everything else, through ``Router.acompletion`` as before.

A group is *direct* when all its deployments are called directly and nothing the
Router counts per call is configured: with several deployments only the default
``simple-shuffle`` strategy (``least-busy``, usage- and latency-based routing
learn from LiteLLM's per-call callbacks), and no ``rpm``/``tpm``/
``max_parallel_requests`` anywhere (the Router counts those per call). A direct
group of one deployment needs no Router at all; of several, the Router still
picks the deployment of every try (order, weights, cool-downs) and the gateway
makes the call. LiteLLM is imported only when some group needs the Router.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from orchestra.llm.openai_compat import OpenAIRoute, openai_route

Kind = Literal["in_process", "openai", "litellm"]

ROUTER_FREE_SETTINGS = frozenset(
    {"num_retries", "timeout", "fallbacks", "default_fallbacks", "context_window_fallbacks"}
)
"""``router_settings`` the gateway applies itself; any other needs LiteLLM's Router
(which also checks that the key exists)."""

_DEPLOYMENT_KEYS = frozenset({"model_name", "litellm_params", "model_info"})
_IN_PROCESS_PARAMS = frozenset({"model", "order", "weight"})


@dataclass(frozen=True, slots=True)
class Target:
    """One deployment as the gateway calls it."""

    id: str
    """The Router's id of the deployment when the Router picked it, else the gateway's own."""
    group: str
    model: str
    """``litellm_params.model``, e.g. ``scripted/echo`` or ``openai/gpt-4o-mini``."""
    kind: Kind
    label: str
    """``alias[label or model@api_base]``, as usage records name the deployment."""
    openai: OpenAIRoute | None = None

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The model string without its provider prefix."""
        return self.model.split("/", 1)[1] if "/" in self.model else self.model


@dataclass(frozen=True, slots=True)
class Plan:
    """How the calls of one group are made."""

    group: str
    count: int
    """How many deployments serve the group."""
    direct: bool
    single: Target | None
    """The group's only deployment when the group is direct and has one: no Router."""


def label_of(group: str, params: Mapping[str, Any], model_info: Mapping[str, Any] | None) -> str:
    """``alias[label or model@api_base]`` (the ``label`` of ``model_info`` when given)."""
    given = (model_info or {}).get("label")
    where = f"@{params['api_base']}" if params.get("api_base") else ""
    return f"{group}[{given or str(params.get('model')) + where}]"


def kind_of(deployment: Mapping[str, Any], in_process: Iterable[str]) -> Kind:
    """How a ``model_list`` entry is called (see the module docstring)."""
    params: Mapping[str, Any] = deployment.get("litellm_params") or {}
    if not set(deployment) <= _DEPLOYMENT_KEYS:
        return "litellm"  # e.g. a deployment-level rpm/tpm the Router counts
    provider = str(params.get("model") or "").split("/", 1)[0]
    if provider in in_process:
        return "in_process" if set(params) <= _IN_PROCESS_PARAMS else "litellm"
    return "openai" if openai_route(params) is not None else "litellm"


def target_of(
    group: str, deployment: Mapping[str, Any], in_process: Iterable[str], fallback_id: str
) -> Target:
    """The :class:`Target` of a ``model_list`` entry; ``fallback_id`` is the Router's id
    for it (or the gateway's own for a group without Router)."""
    params: Mapping[str, Any] = deployment.get("litellm_params") or {}
    info: Mapping[str, Any] = deployment.get("model_info") or {}
    kind = kind_of(deployment, in_process)
    return Target(
        id=fallback_id or str(info.get("id") or ""),
        group=group,
        model=str(params.get("model") or ""),
        kind=kind,
        label=label_of(group, params, info),
        openai=openai_route(params) if kind == "openai" else None,
    )


def plan_of(
    group: str,
    deployments: list[dict[str, Any]],
    in_process: Iterable[str],
    router_settings: Mapping[str, Any],
) -> Plan:
    """The :class:`Plan` of ``group`` served by ``deployments``."""
    names = set(in_process)
    kinds = [kind_of(d, names) for d in deployments]
    strategy = router_settings.get("routing_strategy") or "simple-shuffle"
    direct = bool(deployments) and "litellm" not in kinds
    if len(deployments) > 1 and strategy != "simple-shuffle":
        direct = False
    single = None
    if direct and len(deployments) == 1:
        first = deployments[0]
        single = target_of(
            group, first, names, str((first.get("model_info") or {}).get("id") or f"{group}#0")
        )
    return Plan(group=group, count=max(1, len(deployments)), direct=direct, single=single)


def needs_router(
    groups: Mapping[str, list[dict[str, Any]]],
    in_process: Iterable[str],
    router_settings: Mapping[str, Any],
) -> bool:
    """Whether LiteLLM's Router must be built for this configuration: a setting only it
    applies, or a group it must route (several deployments, or one only LiteLLM calls)."""
    if set(router_settings) - ROUTER_FREE_SETTINGS:
        return True
    names = set(in_process)
    return any(
        plan_of(group, deployments, names, router_settings).single is None
        for group, deployments in groups.items()
    )
