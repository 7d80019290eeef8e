"""The streaming chat request we send is the one the OpenAI client's ``create`` would send."""

from __future__ import annotations

from typing import Any

import pytest
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.openai.base_llm import BaseOpenAILLMService

from openrevox.providers.llm.base import LlmRoute
from openrevox.providers.llm.openai_compatible import OpenAICompatibleLLM, build_llm_service
from openrevox.runtime.call_config import resolve_call_config
from openrevox.runtime.pipeline import tools_schema
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, say

ASSISTANT: dict[str, Any] = {
    "id": "asst-1",
    "prompt": "You are Ava.",
    "first_sentence_mode": "none",
    "custom_tools": [
        {
            "name": "lookup_order",
            "description": "Find an order",
            "method": "GET",
            "url": "https://example.test/orders",
            "headers": [],
            "query_params": [{"key": "id", "value": "{{order_id}}"}],
            "body_template": None,
            "input_schema": [{"name": "order_id", "type": "string", "required": True}],
        }
    ],
}
# Headers the client sets per attempt or per platform; they do not depend on the request.
VARYING = {"x-stainless-retry-count", "x-stainless-read-timeout"}


def conversation() -> LLMContext:
    config = resolve_call_config(ASSISTANT, {}, user_inactivity_secs=0)
    context = LLMContext(tools=tools_schema(config))
    context.add_message({"role": "user", "content": "Hi, where is my order 42?"})
    context.add_message(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "42"}'},
                }
            ],
        }
    )
    context.add_message({"role": "tool", "tool_call_id": "call_1", "content": '{"status": "sent"}'})
    context.add_message({"role": "assistant", "content": "It was sent yesterday. Anything else?"})
    context.add_message({"role": "user", "content": "Ça ira, merci 👍"})
    return context


async def sent(llm: FakeOpenAI, service: Any, context: LLMContext, *, ours: bool) -> FakeRequest:
    llm.add(say("Fine."))
    if ours:
        stream = await service.get_chat_completions(context)
    else:  # Pipecat's own request, through the client's create()
        stream = await BaseOpenAILLMService.get_chat_completions(service, context)
    text = ""
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    assert text == "Fine."
    return llm.requests[-1]


def comparable(request: FakeRequest) -> tuple[str, dict[str, str], dict[str, Any]]:
    headers = {k: v for k, v in request.headers.items() if k not in VARYING}
    return request.path, headers, request.body


@pytest.mark.parametrize("kind", ["dedicated-instance", "openrouter"])
async def test_the_request_is_the_clients_own(kind: str) -> None:
    with FakeOpenAI() as llm:
        route = LlmRoute(kind, llm.base_url, "model-x", "sk-test", "mistral")  # type: ignore[arg-type]
        service = build_llm_service(route, system_instruction="You are Ava.", max_retries=0)
        context = conversation()
        theirs = await sent(llm, service, context, ours=False)
        ours = await sent(llm, service, context, ours=True)
    assert comparable(ours) == comparable(theirs)
    assert ours.headers["authorization"] == "Bearer sk-test"
    assert "lookup_order" in ours.tool_names
    assert ours.tool("lookup_order")["parameters"]["required"] == ["order_id"]
    assert ours.messages[-1]["content"] == "Ça ira, merci 👍"
    assert ours.body["stream"] is True
    assert "temperature" not in ours.body  # unset values are left out, as the client does
    if kind == "openrouter":
        assert ours.body["provider"] == {"order": ["mistral"]}


async def test_settings_and_request_options_reach_the_request() -> None:
    with FakeOpenAI() as llm:
        service = OpenAICompatibleLLM(
            timeout_secs=5,
            max_retries=0,
            api_key="sk-test",
            base_url=llm.base_url,
            settings=OpenAICompatibleLLM.Settings(
                model="model-x",
                system_instruction="You are Ava.",
                temperature=0.25,
                max_tokens=120,
                extra={"extra_headers": {"X-Tenant": "acme"}, "extra_body": {"top_k": 5}},
            ),
        )
        context = conversation()
        theirs = await sent(llm, service, context, ours=False)
        ours = await sent(llm, service, context, ours=True)
    assert comparable(ours) == comparable(theirs)
    assert ours.headers["x-tenant"] == "acme"
    assert (ours.body["temperature"], ours.body["max_tokens"], ours.body["top_k"]) == (0.25, 120, 5)
