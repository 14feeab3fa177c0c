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
from orchestra.llm.providers import ContextLookup, GatewayContext, InProcessModel

if TYPE_CHECKING:
    from litellm.llms.custom_llm import CustomLLM


class ScriptedProvider:
    """``scripted/<script>``: the offline model tests and demos script."""

    def handler(self, context_for: ContextLookup) -> CustomLLM:
        return scripted.make_scripted_handler(context_for)

    def in_process(self) -> InProcessModel:
        """What the gateway calls, without LiteLLM."""
        return scripted.ScriptedModel()

    def check_model(self, model: str, context: GatewayContext) -> None:
        known = context.scripts.names()
        if not context.scripts.knows(model):
            raise ScriptError(
                f"no script named {model!r}; register it with gateway.scripts.register({model!r}, "
                f"[...]) before calling scripted/{model}. Known: {', '.join(sorted(known))}"
            )


class LocalProvider:
    """``orchestra-local/<name>``: the embedded model. One :class:`~orchestra.llm.local.LocalModel`
    per process owns the loaded models, for the gateway's direct calls and LiteLLM's handler."""

    def __init__(self) -> None:
        self._model: local.LocalModel | None = None

    def in_process(self) -> InProcessModel:
        """What the gateway calls, without LiteLLM."""
        if self._model is None:
            self._model = local.LocalModel(local.LocalRuntime())
        return self._model

    def handler(self, context_for: ContextLookup) -> CustomLLM:
        model = self.in_process()
        assert isinstance(model, local.LocalModel)
        return local.make_local_handler(model, context_for)

    def check_model(self, model: str, context: GatewayContext) -> None:
        """Any name works: the model file is the one ``[models.local]`` configures."""


SCRIPTED = ScriptedProvider()
LOCAL = LocalProvider()
