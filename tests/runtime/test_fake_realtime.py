"""The shipped fake of OpenAI's Realtime API talks with Pipecat's own realtime service.

Pipecat's ``OpenAIRealtimeLLMService`` connects over a real WebSocket on loopback: the
session is configured, the context's opening is answered with audio and its transcript,
a tool call goes round (the tool runs in Pipecat, its result goes back as an item and a
new response comes), and caller audio is turned into a user turn by the fake's VAD.
"""

from __future__ import annotations

import asyncio
import math
import struct
from typing import Any

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService
from pipecat.workers.runner import WorkerRunner

from openrevox.testing.fake_openai import call, say
from openrevox.testing.fake_openai_realtime import SAMPLE_RATE, FakeOpenAIRealtime


class Collector(FrameProcessor):
    """Keeps every frame that passes downstream."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            self.frames.append(frame)
        await self.push_frame(frame, direction)

    def of(self, kind: type[Frame]) -> list[Any]:
        return [f for f in self.frames if isinstance(f, kind)]


def tone(secs: float, level: float) -> bytes:
    count = int(secs * SAMPLE_RATE)
    return struct.pack(
        f"<{count}h",
        *(int(level * 32767 * math.sin(2 * math.pi * 300 * i / SAMPLE_RATE)) for i in range(count)),
    )


async def wait_for(condition: Any, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


async def test_pipecat_realtime_service_against_the_fake() -> None:
    with FakeOpenAIRealtime(audio_secs=0.3) as fake:
        fake.add(call("lookup_order", order_id="42"), say("It was sent yesterday."))
        fake.hears("When will it arrive?")
        fake.add(say("Tomorrow morning."))
        llm = OpenAIRealtimeLLMService(
            api_key="sk-rt",
            base_url=fake.url,
            settings=OpenAIRealtimeLLMService.Settings(
                model="gpt-realtime", system_instruction="You are Ava."
            ),
        )
        asked: list[dict[str, Any]] = []

        async def lookup_order(params: FunctionCallParams) -> None:
            asked.append(dict(params.arguments))
            await params.result_callback({"status": "sent"})

        llm.register_function("lookup_order", lookup_order)
        order = FunctionSchema(
            name="lookup_order",
            description="Find an order",
            properties={"order_id": {"type": "string"}},
            required=["order_id"],
        )
        context = LLMContext(
            messages=[{"role": "user", "content": "Where is my order 42?"}],
            tools=ToolsSchema(standard_tools=[order]),
        )
        pair = LLMContextAggregatorPair(context)
        collector = Collector()
        worker = PipelineWorker(
            Pipeline([pair.user(), llm, collector, pair.assistant()]),
            params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE),
        )
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        running = asyncio.create_task(runner.run())
        try:
            await converse(fake, worker, collector, context, asked)
            await worker.queue_frame(EndFrame())
            await asyncio.wait_for(running, 10)
        finally:
            if not running.done():
                await worker.cancel()
                await asyncio.wait_for(running, 10)


async def converse(
    fake: FakeOpenAIRealtime,
    worker: PipelineWorker,
    collector: Collector,
    context: LLMContext,
    asked: list[dict[str, Any]],
) -> None:
    await worker.queue_frame(LLMRunFrame())

    # The opening: a tool call, its result, then a spoken answer.
    await wait_for(lambda: len(fake.responses) >= 2 and len(collector.of(TTSStoppedFrame)) >= 1)
    assert asked == [{"order_id": "42"}]
    assert fake.headers[0]["authorization"] == "Bearer sk-rt"
    session = fake.sessions[-1]
    assert session["instructions"] == "You are Ava."
    assert [t["name"] for t in session["tools"]] == ["lookup_order"]
    outputs = [i for i in fake.responses[1].items if i["type"] == "function_call_output"]
    assert outputs and '"sent"' in outputs[0]["output"]
    spoken = "".join(f.text for f in collector.of(TTSTextFrame))
    assert "It was sent yesterday." in spoken
    audio = collector.of(TTSAudioRawFrame)
    assert audio and sum(len(f.audio) for f in audio) / 2 / SAMPLE_RATE >= 0.29

    # The caller speaks: the fake's VAD ends the turn, transcribes it and answers.
    for chunk in (tone(0.6, 0.3), bytes(2 * int(0.7 * SAMPLE_RATE))):
        for start in range(0, len(chunk), 960):
            frame = InputAudioRawFrame(chunk[start : start + 960], SAMPLE_RATE, 1)
            await worker.queue_frame(frame)
            await asyncio.sleep(0.005)
    await wait_for(
        lambda: "Tomorrow morning." in "".join(f.text for f in collector.of(TTSTextFrame))
    )
    # Pipecat sends the transcript upstream, to the user aggregator: it is in the context.
    said = [m.get("content") for m in context.get_messages() if m.get("role") == "user"]
    assert said[-1] == "When will it arrive?", said
    assert fake.audio_received_secs >= 1.2
    user_items = [i for i in fake.items if i.get("role") == "user"]
    assert user_items[-1]["content"][0]["transcript"] == "When will it arrive?"
