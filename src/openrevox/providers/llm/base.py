"""The LLM provider interface: a resolved route, and the errors of routing and vendors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from openrevox.runtime.errors import CallRuntimeError

RouteKind = Literal["dedicated-instance", "openrouter", "custom", "realtime"]


@dataclass(frozen=True)
class LlmRoute:
    """Where a call's LLM requests go: an OpenAI-compatible chat-completions endpoint,
    or (``realtime``) a speech-to-speech session over a WebSocket."""

    kind: RouteKind
    base_url: str
    model: str
    api_key: str = field(repr=False)
    openrouter_provider: str | None = None
    voice: str | None = None  # realtime: the model's output voice (None: its default)

    def describe(self) -> str:
        """A one-line, secret-free description for logs and error messages."""
        return f"{self.kind} model {self.model!r} at {self.base_url}"


class LlmError(CallRuntimeError):
    """Root of the LLM errors."""

    code = "llm_error"


class LlmNotConfigured(LlmError):
    """No provider is configured for the assistant's model; names the missing setting."""

    status_code = 503
    code = "llm_not_configured"

    def __init__(self, setting: str, detail: str) -> None:
        self.setting = setting
        super().__init__(f"{setting} is not set: {detail}")


class LlmUnsupported(LlmError):
    """The model type cannot run on this transport (yet)."""

    status_code = 501
    code = "llm_unsupported"


class LlmProviderError(LlmError):
    """The LLM endpoint failed: unreachable, timed out, refused or answered an error."""

    status_code = 502
    code = "llm_provider_error"
