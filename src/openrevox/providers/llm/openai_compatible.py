"""Pipecat LLM services for a route, and the OpenAI client's errors translated to ours."""

from __future__ import annotations

from typing import Any

import openai
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from pipecat.services.llm_service import LLMService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.openrouter.llm import OpenRouterLLMService

from openrevox.providers.llm.base import LlmProviderError, LlmRoute


class _Limits:
    """Timeout and retries given to the OpenAI client (Pipecat leaves them at defaults).

    Set before Pipecat's ``__init__`` runs, since that is where it creates the client.
    """

    _timeout_secs: float
    _max_retries: int

    def _set_limits(self, timeout_secs: float, max_retries: int) -> None:
        self._timeout_secs = timeout_secs
        self._max_retries = max_retries

    def _client(self, api_key: Any, base_url: Any, default_headers: Any) -> AsyncOpenAI:
        return AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            default_headers=default_headers,
            timeout=self._timeout_secs,
            max_retries=self._max_retries,
            http_client=DefaultAsyncHttpxClient(),
        )


class OpenAICompatibleLLM(_Limits, OpenAILLMService):
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp)."""

    def __init__(self, *, timeout_secs: float, max_retries: int, **kwargs: Any) -> None:
        self._set_limits(timeout_secs, max_retries)
        super().__init__(**kwargs)

    def create_client(  # type: ignore[no-untyped-def]
        self, api_key=None, base_url=None, organization=None, project=None,
        default_headers=None, **kwargs,
    ):  # fmt: skip
        return self._client(api_key, base_url, default_headers)


class OpenRouterLLM(_Limits, OpenRouterLLMService):
    """OpenRouter, with the assistant's provider preference."""

    def __init__(self, *, timeout_secs: float, max_retries: int, **kwargs: Any) -> None:
        self._set_limits(timeout_secs, max_retries)
        super().__init__(**kwargs)

    def create_client(  # type: ignore[no-untyped-def]
        self, api_key=None, base_url=None, organization=None, project=None,
        default_headers=None, **kwargs,
    ):  # fmt: skip
        return self._client(api_key, base_url, default_headers)


def build_llm_service(
    route: LlmRoute,
    *,
    system_instruction: str | None = None,
    timeout_secs: float = 30.0,
    max_retries: int = 1,
) -> LLMService[Any]:
    """A Pipecat LLM service that talks to ``route`` (streaming, with tools)."""
    if route.kind == "openrouter":
        provider = {"order": [route.openrouter_provider]} if route.openrouter_provider else None
        return OpenRouterLLM(
            timeout_secs=timeout_secs,
            max_retries=max_retries,
            api_key=route.api_key,
            base_url=route.base_url,
            settings=OpenRouterLLM.Settings(
                model=route.model, provider=provider, system_instruction=system_instruction
            ),
        )
    return OpenAICompatibleLLM(
        timeout_secs=timeout_secs,
        max_retries=max_retries,
        api_key=route.api_key,
        base_url=route.base_url,
        settings=OpenAICompatibleLLM.Settings(
            model=route.model, system_instruction=system_instruction
        ),
    )


def translate_error(exc: BaseException | None, route: LlmRoute, fallback: str) -> LlmProviderError:
    """Our error for what the OpenAI client raised while talking to ``route``."""
    where = route.describe()
    if isinstance(exc, openai.APITimeoutError):
        return LlmProviderError(f"LLM timed out: {where}")
    if isinstance(exc, openai.APIConnectionError):
        return LlmProviderError(f"LLM unreachable: {where}")
    if isinstance(exc, openai.APIStatusError):
        return LlmProviderError(f"LLM answered HTTP {exc.status_code}: {where}: {_message(exc)}")
    if isinstance(exc, openai.OpenAIError):
        return LlmProviderError(f"LLM error: {where}: {exc}")
    return LlmProviderError(f"LLM error: {where}: {fallback}")


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(exc.message)[:300]
