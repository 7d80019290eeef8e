"""Nested parts of an assistant, field by field as in the SDK's ``assistant_*_params``."""

from __future__ import annotations

import itertools
import json
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from openrevox.domain.calling_windows import parse_window_time
from openrevox.domain.outcomes import WEEKDAYS, OutcomeFilter, Weekday
from openrevox.domain.templating import PLACEHOLDER
from openrevox.domain.tools import BUILTIN_TOOL_NAMES, MAX_TOOL_NAME_LENGTH, TOOL_NAME
from openrevox.schemas.common import (
    E164,
    Finite,
    NonBlank,
    StrictModel,
    TemplatedHttpUrl,
    TimeZoneName,
    at,
    http_url,
)

FieldType = Literal["string", "number", "boolean", "enum", "date", "datetime"]
ThinkingSound = Literal[
    "city-ambience.ogg",
    "forest-ambience.ogg",
    "office-ambience.ogg",
    "crowded-room.ogg",
    "keyboard-typing.ogg",
    "keyboard-typing2.ogg",
    "hold_music.ogg",
]
VoiceProvider = Literal["cartesia", "elevenlabs", "gradium"]
# Speed range per provider, as the SDK's Voice.speed docstring gives it.
VOICE_SPEED_RANGE: dict[str, tuple[float, float]] = {
    "cartesia": (0.6, 1.5),
    "elevenlabs": (0.7, 1.2),
    "gradium": (0.6, 1.5),
}
VOICE_VOLUME_RANGE = (0.5, 2.0)
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


def unique_values(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once")
        seen.add(value)


class Calendly(StrictModel):
    connection_id: NonBlank
    event_type_id: NonBlank


class CallingWindow(StrictModel):
    calling_window_end_time: str
    calling_window_start_time: str
    retry_delay_seconds: int = Field(ge=0, le=30 * 24 * 3600)

    @field_validator("calling_window_start_time", "calling_window_end_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        parse_window_time(value)
        return value

    @model_validator(mode="after")
    def _start_before_end(self) -> CallingWindow:
        start = parse_window_time(self.calling_window_start_time)
        end = parse_window_time(self.calling_window_end_time)
        if start >= end:
            raise at(
                "calling_window_start_time",
                f"{self.calling_window_start_time!r} must be before "
                f"calling_window_end_time {self.calling_window_end_time!r}",
            )
        return self


class CallRetryConfig(StrictModel):
    """Retry policy. SDK 0.1.1 sends neither ``allowed_days`` nor ``call_twice_in_a_row``:
    they then take their defaults (Monday to Friday; false)."""

    allowed_days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    call_twice_in_a_row: bool = False
    calling_windows: list[CallingWindow] = Field(min_length=1, max_length=10)
    max_retry_attempts: int = Field(ge=1, le=20)
    timezone: TimeZoneName | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CallRetryConfig:
        # Defaults filled in for SDK 0.1.1 are stored like values that were sent.
        self.__pydantic_fields_set__.update({"allowed_days", "call_twice_in_a_row"})
        unique_values(list(self.allowed_days), "day")
        spans = sorted(
            (
                parse_window_time(w.calling_window_start_time),
                parse_window_time(w.calling_window_end_time),
            )
            for w in self.calling_windows
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise at("calling_windows", "overlap; give each time of day once")
        return self


class KeyValue(StrictModel):
    key: NonBlank
    value: str


class FieldSpec(StrictModel):
    """A typed field: a custom tool's argument or a structured-output field."""

    name: Identifier
    required: bool
    type: FieldType
    description: str | None = None
    enum_options: list[NonBlank] | None = None

    @model_validator(mode="after")
    def _enum_options(self) -> FieldSpec:
        if self.type == "enum":
            if not self.enum_options:
                raise at("enum_options", f"are required: {self.name!r} is an enum")
            unique_values(self.enum_options, "enum option")
        elif self.enum_options:
            raise at("enum_options", f"only apply to enum fields; {self.name!r} is {self.type}")
        return self


def unique_field_names(fields: list[FieldSpec] | None, what: str) -> None:
    if fields:
        unique_values([f.name for f in fields], what)


class CustomTool(StrictModel):
    body_template: str | None
    description: NonBlank
    headers: list[KeyValue]
    input_schema: list[FieldSpec]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    name: str = Field(max_length=MAX_TOOL_NAME_LENGTH)
    query_params: list[KeyValue]
    url: TemplatedHttpUrl

    @model_validator(mode="after")
    def _valid(self) -> CustomTool:
        if not TOOL_NAME.match(self.name):
            raise at("name", f"{self.name!r} must be lowercase_snake_case (e.g. check_stock)")
        if self.name in BUILTIN_TOOL_NAMES:
            raise at("name", f"{self.name!r} is the name of a built-in tool")
        unique_field_names(self.input_schema, "input_schema name")
        if self.body_template:
            try:
                json.loads(PLACEHOLDER.sub("0", self.body_template))
            except ValueError as exc:
                raise at(
                    "body_template", f"is not JSON once its {{{{variables}}}} are filled: {exc}"
                ) from None
        return self


class DedicatedInstanceModel(StrictModel):
    name: Literal["gpt-4.1", "ministral-3-8b-instruct"]
    type: Literal["dedicated-instance"]


class OpenRouterModel(StrictModel):
    openrouter_model_id: NonBlank
    openrouter_provider: NonBlank
    type: Literal["openrouter"]


class CustomModel(StrictModel):
    api_key: NonBlank
    api_url: Annotated[str, StringConstraints(max_length=2048)]
    model_name: NonBlank
    type: Literal["custom"]

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)


class RealtimeModel(StrictModel):
    provider: Literal["openai", "google"]
    realtime_model_id: NonBlank
    type: Literal["realtime"]
    realtime_voice_id: str | None = None


LlmModel = Annotated[
    DedicatedInstanceModel | OpenRouterModel | CustomModel | RealtimeModel,
    Field(discriminator="type"),
]
LLM_MODEL_TYPES = ("dedicated-instance", "openrouter", "custom", "realtime")


class Point(StrictModel):
    x: Finite
    y: Finite


class PromptFlowEdge(StrictModel):
    id: str
    source: str
    target: str


class PromptFlowNodeData(StrictModel):
    body: str
    title: str


class PromptFlowNode(StrictModel):
    id: str
    data: PromptFlowNodeData
    position: Point
    type: Literal["promptBlock"]


class PromptFlow(StrictModel):
    edges: list[PromptFlowEdge]
    nodes: list[PromptFlowNode]

    @model_validator(mode="after")
    def _edges_join_nodes(self) -> PromptFlow:
        ids = [n.id for n in self.nodes]
        unique_values(ids, "node id")
        known = set(ids)
        for edge in self.edges:
            for end in (edge.source, edge.target):
                if end not in known:
                    raise at("edges", f"edge {edge.id!r} refers to unknown node {end!r}")
        return self


class SlackChannel(StrictModel):
    id: NonBlank
    name: str | None = None


class Slack(StrictModel):
    """Slack config; SDK 0.2-0.3 send one ``channel_id``/``channel_name``, not ``channels``."""

    channels: list[SlackChannel] = Field(default_factory=list, max_length=20)
    connection_id: NonBlank
    outcomes: list[OutcomeFilter]
    template: str | None = None
    channel_id: str | None = Field(default=None, exclude=True)
    channel_name: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _channels(self) -> Slack:
        if self.channel_id:
            legacy = SlackChannel(id=self.channel_id, name=self.channel_name)
            if self.channels and self.channels[0].id != self.channel_id:
                raise at("channel_id", "disagrees with channels[0].id; send one of them")
            if not self.channels:
                self.channels = [legacy]
        if not self.channels:
            raise at("channels", "must list at least one channel")
        unique_values([c.id for c in self.channels], "channel id")
        return self


class SttContext(StrictModel):
    general: list[KeyValue]
    terms: list[NonBlank]


class TransferDestination(StrictModel):
    label: NonBlank
    phone_number: E164


class Voice(StrictModel):
    id: NonBlank
    provider: VoiceProvider
    model: Literal["sonic-3", "sonic-3.5"] | None = None
    speed: Finite | None = None
    volume: Finite | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Voice:
        low, high = VOICE_SPEED_RANGE[self.provider]
        if self.speed is not None and not low <= self.speed <= high:
            raise at("speed", f"must be between {low} and {high} for {self.provider}")
        vlow, vhigh = VOICE_VOLUME_RANGE
        if self.volume is not None and not vlow <= self.volume <= vhigh:
            raise at("volume", f"must be between {vlow} and {vhigh}")
        return self


class ZohoFieldMapping(StrictModel):
    source: NonBlank
    zoho_field: NonBlank


class Zoho(StrictModel):
    connection_id: NonBlank
    field_mapping: list[ZohoFieldMapping]
    log_call_activity: bool
    module: NonBlank
    outcomes: list[OutcomeFilter]
    template: str | None = None


class FaqItemInput(StrictModel):
    """A FAQ item as written; ``id`` keeps an existing item's identity across a replace."""

    question: NonBlank
    answer: str
    id: str | None = None
    needs_human_answer: bool | None = None
    source: Literal["human", "ai"] | None = None
