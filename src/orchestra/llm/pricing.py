"""What a call cost, from LiteLLM's bundled price map, looked up once per model.

``litellm.cost_per_token`` resolves the model's entry (aliases, provider
prefixes) on every call; the gateway asks it once per model for the price of a
prompt token and of a completion token and multiplies afterwards. A model
priced in tiers (a higher price above some prompt length: keys like
``input_cost_per_token_above_128k_tokens``) is asked on every call, since its
price depends on the call. A model the map does not price costs zero, and so
does an in-process model (no lookup, LiteLLM is not even imported).
"""

from __future__ import annotations

from collections.abc import Callable

from orchestra.llm import providers

_PER_CALL = -1.0
"""A price that marks a model whose cost must be asked per call (tiered pricing)."""


class Prices:
    """Per-token prices by model string, looked up on first use."""

    def __init__(self) -> None:
        self._prices: dict[str, tuple[float, float]] = {}

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for ``prompt_tokens`` + ``completion_tokens`` of ``model`` (0 when unpriced)."""
        if not model or prompt_tokens + completion_tokens == 0:
            return 0.0
        prices = self._prices.get(model)
        if prices is None:
            prices = self._prices[model] = _lookup(model)
        prompt, completion = prices
        if prompt == _PER_CALL:
            return _ask(model, prompt_tokens, completion_tokens)
        return prompt * prompt_tokens + completion * completion_tokens


_SAMPLE = 1000
"""Tokens priced to find a per-token price (LiteLLM's own arithmetic, divided back)."""


def _lookup(model: str) -> tuple[float, float]:
    providers.prepare_litellm()
    import litellm

    try:
        info: dict[str, object] = dict(litellm.get_model_info(model=model))
    except Exception:  # LiteLLM raises a bare Exception for models it does not know
        return (0.0, 0.0)
    if any("_above_" in key and info.get(key) for key in info):
        return (_PER_CALL, _PER_CALL)
    return (_ask(model, _SAMPLE, 0) / _SAMPLE, _ask(model, 0, _SAMPLE) / _SAMPLE)


def _ask(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    providers.prepare_litellm()
    import litellm

    ask: Callable[..., tuple[float, float]] = litellm.cost_per_token
    try:
        prompt, completion = ask(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # unpriced
        return 0.0
    return float(prompt + completion)
