"""Pipecat LLM services for a route, and the OpenAI client's errors translated to ours."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai
from openai import AsyncOpenAI, AsyncStream, DefaultAsyncHttpxClient, NotGiven, Omit
from openai._types import RequestOptions  # the options create() builds; typed, so drift shows
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.llm_service import LLMService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.openrouter.llm import OpenRouterLLMService
from pipecat.utils.types import assert_given

from openrevox.providers.llm.base import LlmProviderError, LlmRoute

# Keys of the create() call that are request options, not body fields.
_OPTION_KEYS = ("extra_headers", "extra_query", "extra_body", "timeout")


async def stream_chat_completion(
    client: AsyncOpenAI, params: Mapping[str, Any]
) -> AsyncStream[ChatCompletionChunk]:
    """``client.chat.completions.create(**params)`` for a streaming request, without the
    client's type-driven transform of the body.

    The transform walks every message against the SDK's typed dicts to apply aliases and
    formats; chat-completion parameters have none, so it only drops unset values, and it
    costs ~3 ms of event-loop time per request for a 20-message conversation (most of the
    latency between the final transcript and the request on the wire). The body here is
    the same JSON: unset values dropped, request options passed as options.
    """
    body = {
        key: value
        for key, value in params.items()
        if key not in _OPTION_KEYS and not isinstance(value, NotGiven | Omit)
    }
    options: RequestOptions = {"security": {"bearer_auth": True}}
    if params.get("extra_headers") is not None:
        options["headers"] = params["extra_headers"]
    if params.get("extra_query") is not None:
        options["params"] = params["extra_query"]
    if params.get("extra_body") is not None:
        options["extra_json"] = params["extra_body"]
    if "timeout" in params and not isinstance(params["timeout"], NotGiven):
        options["timeout"] = params["timeout"]
    return await client.post(
        "/chat/completions",
        cast_to=ChatCompletion,
        body=body,
        options=options,
        stream=True,
        stream_cls=AsyncStream[ChatCompletionChunk],
    )


class _Limits:
    """Timeout and retries given to the OpenAI client (Pipecat leaves them at defaults),
    and the streaming request sent without the client's body transform.

    Set before Pipecat's ``__init__`` runs, since that is where it creates the client.
    """

    _client: AsyncOpenAI

    _timeout_secs: float
    _max_retries: int

    def _set_limits(self, timeout_secs: float, max_retries: int) -> None:
        self._timeout_secs = timeout_secs
        self._max_retries = max_retries

    def _new_client(self, api_key: Any, base_url: Any, default_headers: Any) -> AsyncOpenAI:
        return AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            default_headers=default_headers,
            timeout=self._timeout_secs,
            max_retries=self._max_retries,
            http_client=DefaultAsyncHttpxClient(),
        )

    async def get_chat_completions(self, context: LLMContext) -> AsyncStream[ChatCompletionChunk]:
        """Pipecat's request (same parameters, same log line; we never set its
        ``retry_on_timeout``) sent through :func:`stream_chat_completion`."""
        service: Any = self
        adapter = service.get_llm_adapter()
        service._log_llm_response(context)
        params_from_context = await adapter.get_llm_invocation_params(
            context,
            system_instruction=assert_given(service._settings.system_instruction),
            convert_developer_to_user=not service.supports_developer_role,
        )
        params = service.build_chat_completion_params(params_from_context)
        return await stream_chat_completion(self._client, params)


class OpenAICompatibleLLM(_Limits, OpenAILLMService):
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp)."""

    def __init__(self, *, timeout_secs: float, max_retries: int, **kwargs: Any) -> None:
        self._set_limits(timeout_secs, max_retries)
        super().__init__(**kwargs)

    def create_client(  # type: ignore[no-untyped-def]
        self, api_key=None, base_url=None, organization=None, project=None,
        default_headers=None, **kwargs,
    ):  # fmt: skip
        return self._new_client(api_key, base_url, default_headers)


class OpenRouterLLM(_Limits, OpenRouterLLMService):
    """OpenRouter, with the assistant's provider preference."""

    def __init__(self, *, timeout_secs: float, max_retries: int, **kwargs: Any) -> None:
        self._set_limits(timeout_secs, max_retries)
        super().__init__(**kwargs)

    def create_client(  # type: ignore[no-untyped-def]
        self, api_key=None, base_url=None, organization=None, project=None,
        default_headers=None, **kwargs,
    ):  # fmt: skip
        return self._new_client(api_key, base_url, default_headers)


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
