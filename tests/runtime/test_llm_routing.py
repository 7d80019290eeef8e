"""LLM routing for every llm_model type, the missing-setting error, vendor errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from openrevox.config import LlmEndpoint, Settings
from openrevox.providers.llm.base import LlmNotConfigured, LlmUnsupported
from openrevox.providers.llm.router import OPENAI_BASE_URL, resolve_route, text_route
from openrevox.testing.fake_openai import FakeOpenAI, Reply, say
from tests.runtime.conftest import call as start_call

DEDICATED = {"type": "dedicated-instance", "name": "gpt-4.1"}
MINISTRAL = {"type": "dedicated-instance", "name": "ministral-3-8b-instruct"}
OPENROUTER = {
    "type": "openrouter",
    "openrouter_model_id": "mistralai/mistral-small",
    "openrouter_provider": "mistral",
}


def bare(**values: Any) -> Settings:
    """Settings with no LLM configured, whatever the environment says."""
    base: dict[str, Any] = {
        "openai_base_url": None,
        "openai_api_key": None,
        "openrouter_api_key": None,
        "llm_endpoints": {},
    }
    return Settings(**{**base, **values})


def test_dedicated_instance_defaults_to_openai_with_the_server_key() -> None:
    route = resolve_route(DEDICATED, bare(openai_api_key=SecretStr("sk-1")))
    assert (route.kind, route.base_url, route.model, route.api_key) == (
        "dedicated-instance",
        OPENAI_BASE_URL,
        "gpt-4.1",
        "sk-1",
    )
    assert "sk-1" not in repr(route) and "sk-1" not in route.describe()


def test_dedicated_instance_without_key_names_the_missing_setting() -> None:
    with pytest.raises(LlmNotConfigured) as caught:
        resolve_route(DEDICATED, bare())
    assert caught.value.setting == "OPENREVOX_OPENAI_API_KEY"
    assert caught.value.message.startswith("OPENREVOX_OPENAI_API_KEY is not set")


def test_dedicated_instance_on_a_local_server_needs_no_key() -> None:
    route = resolve_route(MINISTRAL, bare(openai_base_url="http://127.0.0.1:11434/v1"))
    assert (route.base_url, route.model) == ("http://127.0.0.1:11434/v1", "ministral-3-8b-instruct")


def test_dedicated_instance_per_model_endpoint_wins() -> None:
    settings = bare(
        openai_api_key=SecretStr("sk-1"),
        llm_endpoints={
            "ministral-3-8b-instruct": LlmEndpoint(
                base_url="http://vllm:8000/v1", api_key=SecretStr("v"), model="mistral-8b-q4"
            )
        },
    )
    route = resolve_route(MINISTRAL, settings)
    assert (route.base_url, route.model, route.api_key) == (
        "http://vllm:8000/v1",
        "mistral-8b-q4",
        "v",
    )
    assert resolve_route(DEDICATED, settings).base_url == OPENAI_BASE_URL


def test_llm_endpoints_setting_reads_json_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "OPENREVOX_LLM_ENDPOINTS",
        '{"ministral-3-8b-instruct": {"base_url": "http://llama:8080/v1"}}',
    )
    route = resolve_route(MINISTRAL, Settings())
    assert route.base_url == "http://llama:8080/v1"


def test_openrouter_needs_the_server_key() -> None:
    with pytest.raises(LlmNotConfigured) as caught:
        resolve_route(OPENROUTER, bare())
    assert caught.value.setting == "OPENREVOX_OPENROUTER_API_KEY"
    route = resolve_route(OPENROUTER, bare(openrouter_api_key=SecretStr("or-1")))
    assert (route.base_url, route.model, route.openrouter_provider) == (
        "https://openrouter.ai/api/v1",
        "mistralai/mistral-small",
        "mistral",
    )


def test_custom_uses_the_assistants_endpoint() -> None:
    route = resolve_route(
        {
            "type": "custom",
            "api_url": "https://llm.acme.test/v1",
            "api_key": "acme-key",
            "model_name": "acme-large",
        },
        bare(),
    )
    assert (route.kind, route.base_url, route.model, route.api_key) == (
        "custom",
        "https://llm.acme.test/v1",
        "acme-large",
        "acme-key",
    )


REALTIME = {
    "type": "realtime",
    "provider": "openai",
    "realtime_model_id": "gpt-realtime",
    "realtime_voice_id": "marin",
}


def test_realtime_openai_uses_the_server_key_realtime_url_and_voice() -> None:
    route = resolve_route(REALTIME, bare(openai_api_key=SecretStr("sk-rt")))
    assert (route.kind, route.base_url, route.model, route.api_key, route.voice) == (
        "realtime",
        "wss://api.openai.com/v1/realtime",
        "gpt-realtime",
        "sk-rt",
        "marin",
    )
    assert "sk-rt" not in repr(route)


def test_realtime_without_key_names_the_missing_setting() -> None:
    with pytest.raises(LlmNotConfigured) as caught:
        resolve_route(REALTIME, bare())
    assert caught.value.setting == "OPENREVOX_OPENAI_API_KEY"
    assert "OPENREVOX_OPENAI_REALTIME_URL" in caught.value.message


def test_realtime_on_a_server_of_your_own_needs_no_key() -> None:
    model = {k: v for k, v in REALTIME.items() if k != "realtime_voice_id"}
    route = resolve_route(model, bare(openai_realtime_url="ws://127.0.0.1:9/v1/realtime"))
    assert (route.base_url, route.voice) == ("ws://127.0.0.1:9/v1/realtime", None)


def test_realtime_on_another_provider_is_refused_clearly() -> None:
    model = {**REALTIME, "provider": "google", "realtime_model_id": "gemini-live"}
    with pytest.raises(LlmUnsupported, match=r"realtime provider 'google' .* not supported"):
        resolve_route(model, bare(openai_api_key=SecretStr("sk-rt")))


def test_text_work_of_a_realtime_assistant_goes_to_the_text_model() -> None:
    settings = bare(openai_api_key=SecretStr("sk-rt"), openai_realtime_text_model="gpt-4.1")
    route = text_route(REALTIME, settings)
    assert (route.kind, route.base_url, route.model, route.api_key) == (
        "dedicated-instance",
        OPENAI_BASE_URL,
        "gpt-4.1",
        "sk-rt",
    )
    assert text_route(OPENROUTER, bare(openrouter_api_key=SecretStr("or"))).kind == "openrouter"
    with pytest.raises(LlmUnsupported):  # what the call itself would say
        text_route({**REALTIME, "provider": "google"}, settings)


async def test_openrouter_call_sends_key_model_and_provider(llm: FakeOpenAI) -> None:
    llm.add(say("Bonjour!"))
    settings = bare(openrouter_api_key=SecretStr("or-1"), openrouter_base_url=llm.base_url)
    async with start_call(llm, settings=settings, llm_model=OPENROUTER) as c:
        assert await c.chat.start() == ["Bonjour!"]
    request = llm.requests[0]
    assert request.headers["authorization"] == "Bearer or-1"
    assert request.body["model"] == "mistralai/mistral-small"
    assert request.body["provider"] == {"order": ["mistral"]}


async def test_custom_call_uses_the_assistants_url_and_key(llm: FakeOpenAI) -> None:
    llm.add(say("Hello from custom."))
    model = {"type": "custom", "api_url": llm.base_url, "api_key": "ak", "model_name": "mine"}
    async with start_call(llm, settings=bare(), llm_model=model) as c:
        assert await c.chat.start() == ["Hello from custom."]
    assert llm.requests[0].headers["authorization"] == "Bearer ak"
    assert llm.requests[0].body["model"] == "mine"


async def test_no_provider_configured_ends_the_call_in_error(llm: FakeOpenAI) -> None:
    async with start_call(llm, settings=bare()) as c:
        await c.chat.start()
        result = await c.chat.result()
    assert (result.ended_by, result.end_reason) == ("system", "error")
    assert result.error is not None
    assert result.error.startswith("OPENREVOX_OPENAI_API_KEY is not set")
    assert llm.requests == []


async def test_vendor_error_is_translated_and_ends_the_call(llm: FakeOpenAI) -> None:
    llm.add(Reply(status=401, error="Incorrect API key provided"))
    async with start_call(llm) as c:
        await c.chat.start()
        result = await c.chat.result()
    assert (result.ended_by, result.end_reason) == ("system", "error")
    assert result.error is not None
    assert result.error.startswith("LLM answered HTTP 401: dedicated-instance model 'gpt-4.1'")
    assert result.error.endswith("Incorrect API key provided")
    assert "test-key" not in result.error
    assert c.transport.hung_up


async def test_unreachable_llm_ends_the_call_in_error(llm: FakeOpenAI) -> None:
    settings = bare(openai_base_url="http://127.0.0.1:9/v1", llm_max_retries=0)
    async with start_call(llm, settings=settings) as c:
        await c.chat.start()
        result = await c.chat.result()
    assert result.end_reason == "error"
    assert (
        result.error
        == "LLM unreachable: dedicated-instance model 'gpt-4.1' at http://127.0.0.1:9/v1"
    )
