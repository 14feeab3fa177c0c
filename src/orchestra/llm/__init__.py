"""The model gateway: LiteLLM Router, the embedded local model, the scripted model, usage.

Importing this package does not import LiteLLM (that happens when a gateway is built).
"""

from orchestra.llm.config import GatewayConfig, LocalModelConfig
from orchestra.llm.errors import (
    ContextWindowExceeded,
    LLMError,
    MalformedOutput,
    MalformedToolCall,
    ModelConfigError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    Timeout,
    UnknownModel,
)
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.llm.types import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ModelGateway,
    StreamRestart,
    ToolCall,
    ToolSchema,
    Usage,
)
from orchestra.llm.usage import (
    RecordingGateway,
    UsageRecord,
    UsageReport,
    UsageSink,
    UsageTotals,
)

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "ContextWindowExceeded",
    "Gateway",
    "GatewayConfig",
    "LLMError",
    "LocalModelConfig",
    "MalformedOutput",
    "MalformedToolCall",
    "ModelConfigError",
    "ModelGateway",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "RecordingGateway",
    "Reply",
    "ScriptRegistry",
    "ScriptedToolCall",
    "StreamInterrupted",
    "StreamRestart",
    "Timeout",
    "ToolCall",
    "ToolSchema",
    "UnknownModel",
    "Usage",
    "UsageRecord",
    "UsageReport",
    "UsageSink",
    "UsageTotals",
    "build_gateway",
]
