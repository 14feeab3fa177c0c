"""Orchestra's own model providers, registered as ``orchestra.models`` entry points.

``scripted/<script>`` answers from the calling gateway's
:class:`~orchestra.llm.scripted.ScriptRegistry`; ``orchestra-local/<name>`` runs
the embedded llama.cpp model with the gateway's local-model settings. Both are
found through :func:`~orchestra.llm.providers.model_provider_registry`, exactly
as a plugin's provider would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestra.llm import local, scripted
from orchestra.llm.errors import ScriptError
from orchestra.llm.providers import ContextLookup, GatewayContext

if TYPE_CHECKING:
    from litellm.llms.custom_llm import CustomLLM


class ScriptedProvider:
    """``scripted/<script>``: the offline model tests and demos script."""

    def handler(self, context_for: ContextLookup) -> CustomLLM:
        return scripted.make_scripted_handler(lambda params: context_for(params).scripts)

    def check_model(self, model: str, context: GatewayContext) -> None:
        known = context.scripts.names()
        if not context.scripts.knows(model):
            raise ScriptError(
                f"no script named {model!r}; register it with gateway.scripts.register({model!r}, "
                f"[...]) before calling scripted/{model}. Known: {', '.join(sorted(known))}"
            )


class LocalProvider:
    """``orchestra-local/<name>``: the embedded model; its handler owns the loaded models."""

    def handler(self, context_for: ContextLookup) -> CustomLLM:
        return local.make_local_handler(
            local.LocalRuntime(), lambda params: context_for(params).local
        )

    def check_model(self, model: str, context: GatewayContext) -> None:
        """Any name works: the model file is the one ``[models.local]`` configures."""


SCRIPTED = ScriptedProvider()
LOCAL = LocalProvider()
