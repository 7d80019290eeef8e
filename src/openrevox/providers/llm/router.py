"""Route an assistant's ``llm_model`` to an endpoint, from the server settings.

| ``llm_model.type``   | endpoint                                                            |
| -------------------- | ------------------------------------------------------------------- |
| dedicated-instance   | ``llm_endpoints[name]`` if set, else ``openai_base_url`` (OpenAI)    |
| openrouter           | ``openrouter_base_url`` with ``openrouter_api_key``, provider order  |
| custom               | the assistant's own ``api_url``, ``api_key`` and ``model_name``     |
| realtime             | ``openai``: ``openai_realtime_url`` with ``openai_api_key``, voice   |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openrevox.config import Settings
from openrevox.providers.llm.base import LlmNotConfigured, LlmRoute, LlmUnsupported

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local OpenAI-compatible servers (vLLM, Ollama, llama.cpp) accept any key; the client
# needs one.
NO_KEY = "not-needed"


def resolve_route(llm_model: Mapping[str, Any], settings: Settings) -> LlmRoute:
    """The endpoint for ``llm_model``; raises ``LlmNotConfigured`` naming a missing setting."""
    kind = llm_model.get("type")
    if kind == "dedicated-instance":
        return _dedicated(str(llm_model["name"]), settings)
    if kind == "openrouter":
        return _openrouter(llm_model, settings)
    if kind == "custom":
        return LlmRoute(
            kind="custom",
            base_url=str(llm_model["api_url"]),
            model=str(llm_model["model_name"]),
            api_key=str(llm_model.get("api_key") or NO_KEY),
        )
    if kind == "realtime":
        return _realtime(llm_model, settings)
    raise LlmUnsupported(f"unknown llm_model type {kind!r}")


def text_route(llm_model: Mapping[str, Any], settings: Settings) -> LlmRoute:
    """The chat-completions route for one-off text work (briefings, analysis): the
    assistant's own, or for a realtime model (which only converses)
    ``openai_realtime_text_model`` as a dedicated-instance model."""
    if llm_model.get("type") == "realtime":
        _realtime(llm_model, settings)  # the same errors as the call itself
        return _dedicated(settings.openai_realtime_text_model, settings)
    return resolve_route(llm_model, settings)


def _dedicated(name: str, settings: Settings) -> LlmRoute:
    endpoint = settings.llm_endpoints.get(name)
    if endpoint is not None:
        key = endpoint.api_key.get_secret_value() if endpoint.api_key else NO_KEY
        return LlmRoute("dedicated-instance", endpoint.base_url, endpoint.model or name, key)
    base_url = settings.openai_base_url or OPENAI_BASE_URL
    if settings.openai_api_key is not None:
        key = settings.openai_api_key.get_secret_value()
    elif settings.openai_base_url:
        key = NO_KEY
    else:
        raise LlmNotConfigured(
            "OPENREVOX_OPENAI_API_KEY",
            f"dedicated-instance model {name!r} is served by OpenAI ({OPENAI_BASE_URL}); "
            "set the key, or point OPENREVOX_OPENAI_BASE_URL (or OPENREVOX_LLM_ENDPOINTS "
            f'{{"{name}": {{"base_url": ...}}}}) at your own OpenAI-compatible server',
        )
    return LlmRoute("dedicated-instance", base_url, name, key)


def _openrouter(llm_model: Mapping[str, Any], settings: Settings) -> LlmRoute:
    model = str(llm_model["openrouter_model_id"])
    if settings.openrouter_api_key is None:
        raise LlmNotConfigured(
            "OPENREVOX_OPENROUTER_API_KEY",
            f"openrouter model {model!r} needs the server's OpenRouter key",
        )
    return LlmRoute(
        kind="openrouter",
        base_url=settings.openrouter_base_url,
        model=model,
        api_key=settings.openrouter_api_key.get_secret_value(),
        openrouter_provider=str(llm_model.get("openrouter_provider") or "") or None,
    )


REALTIME_PROVIDERS = ("openai",)


def _realtime(llm_model: Mapping[str, Any], settings: Settings) -> LlmRoute:
    provider = str(llm_model.get("provider") or "")
    model = str(llm_model.get("realtime_model_id") or "")
    if provider not in REALTIME_PROVIDERS:
        raise LlmUnsupported(
            f"realtime provider {provider!r} (model {model!r}) is not supported: realtime "
            "models run on OpenAI's Realtime API (provider 'openai'); use another "
            "llm_model type for this assistant"
        )
    if settings.openai_api_key is not None:
        key = settings.openai_api_key.get_secret_value()
    elif settings.openai_realtime_url != Settings.model_fields["openai_realtime_url"].default:
        key = NO_KEY  # a server of your own that speaks the Realtime API
    else:
        raise LlmNotConfigured(
            "OPENREVOX_OPENAI_API_KEY",
            f"realtime model {model!r} is served by OpenAI's Realtime API "
            f"({settings.openai_realtime_url}); set the key, or point "
            "OPENREVOX_OPENAI_REALTIME_URL at your own Realtime-compatible server",
        )
    voice = str(llm_model.get("realtime_voice_id") or "") or None
    return LlmRoute("realtime", settings.openai_realtime_url, model, key, voice=voice)
