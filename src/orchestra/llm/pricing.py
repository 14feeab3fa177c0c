"""What a call cost, from LiteLLM's bundled price map, looked up once per model.

``litellm.cost_per_token`` resolves the model's entry (aliases, provider
prefixes) on every call; the gateway asks it once per model for the price of a
prompt token and of a completion token and multiplies afterwards. A model
priced in tiers (a higher price above some prompt length: keys like
``input_cost_per_token_above_128k_tokens``) is asked on every call, since its
price depends on the call. A model the map does not list (a self-hosted
``openai/fake-model``, ``hosted_vllm/devstral``) costs zero, found by reading the
map's keys from LiteLLM's bundled file without importing LiteLLM (seconds and
~150 MiB); so does an in-process model, which is not looked up at all.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

from orchestra.llm import providers

PRICE_FILE = "model_prices_and_context_window_backup.json"
_KEY = re.compile(r'^    "([^"]+)": \{', re.MULTILINE)
_listed: list[frozenset[str]] = []

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


def listed_models() -> frozenset[str]:
    """The model names LiteLLM's bundled price map lists (its top-level keys), read once
    from the file, without importing LiteLLM; empty when the file is not found."""
    if not _listed:
        spec = importlib.util.find_spec("litellm")
        names: frozenset[str] = frozenset()
        if spec is not None and spec.origin is not None:
            path = Path(spec.origin).parent / PRICE_FILE
            if path.is_file():
                names = frozenset(_KEY.findall(path.read_text(encoding="utf-8")))
        _listed.append(names)
    return _listed[0]


def _maybe_priced(model: str) -> bool:
    """Whether LiteLLM could price ``model``: the map lists it with or without its
    provider prefix (or the file was not found, and LiteLLM must be asked)."""
    names = listed_models()
    if not names:
        return True
    return model in names or model.split("/", 1)[-1] in names


def _lookup(model: str) -> tuple[float, float]:
    if not _maybe_priced(model):
        return (0.0, 0.0)
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
