"""Call requests and responses (SDK 0.5.0 ``client.call``, plus SDK 0.1.1's ``GET /call``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from openrevox.domain.outcomes import Outcome
from openrevox.domain.scheduling import OrderStatus
from openrevox.schemas.assistant_parts import CallRetryConfig, LlmModel
from openrevox.schemas.assistants import AssistantOut, AssistantUpdate
from openrevox.schemas.call_parts import (
    CallAttemptOut,
    CampaignRef,
    Contact,
    Direction,
    LegacyCallEntry,
    Member,
    PhoneHistoryEntry,
)
from openrevox.schemas.common import Name, StrictModel, Text, WireModel, at, reject_nul

PhoneText = Annotated[str, StringConstraints(max_length=64)]
VariableName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
VariableValue = Annotated[str, StringConstraints(max_length=100_000)]
MetadataValue = Annotated[str, StringConstraints(max_length=10_000)]
Identifier = Annotated[str, StringConstraints(max_length=200)]

MAX_PAGE_SIZE = 500
# Outcome filters: SDK 0.5.0's, "none" (no outcome), and the outcomes SDK 0.3.0 could
# still send; those never match, as no call gets them any more.
OutcomeSearch = Literal[
    "not_interested",
    "interested",
    "completed",
    "requested_callback_later",
    "none",
    "requested_callback_new_number",
    "do_not_contact",
    "ai_averse",
]
# Result filters: the latest attempt's result, "none" when there is none.
ResultSearch = Literal["IVR", "voicemail", "human", "unknown", "ios-screening-filter", "none"]
SortField = Literal[
    "created_at",
    "updated_at",
    "scheduled_at",
    "status",
    "outcome",
    "to_phone_number",
    "from_phone_number",
    "calls_count",
    "direction",
]


class InlineAssistant(AssistantUpdate):
    """``assistant`` of ``POST /call``: validated like an assistant create body, except
    that only ``prompt`` is required (the SDK's inline assistant has no ``name``)."""

    prompt: Text


class Concurrency(StrictModel):
    key: Name = Field(description="Calls sharing a key share its server-side limit.")


class CallCreate(StrictModel):
    """``POST /call``: ``assistant_id`` or an inline ``assistant``, and the number to call."""

    phone_number: PhoneText = Field(
        description="E.164, or a national number of the organization's country."
    )
    assistant_id: Identifier | None = None
    assistant: InlineAssistant | None = None
    concurrency: Concurrency | None = None
    from_phone_number: PhoneText | None = None
    metadata: dict[VariableName, MetadataValue] | None = Field(default=None, max_length=200)
    prompt_variables: dict[VariableName, VariableValue] | None = Field(default=None, max_length=500)
    scheduled_at: datetime | None = Field(
        default=None, description="ISO 8601; without a zone, UTC. In the past: now."
    )
    skip_calling_window: bool | None = None
    force_now: bool | None = Field(
        default=None, description="Legacy (SDK 0.1.1-0.3.0): the same as skip_calling_window."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _one_assistant(self) -> CallCreate:
        if self.assistant_id is not None and self.assistant is not None:
            raise at("assistant", "give assistant_id or an inline assistant, not both")
        if self.assistant_id is None and self.assistant is None:
            raise at("assistant_id", "is required (or give an inline assistant)")
        return self


class CallSearch(StrictModel):
    """``POST /call/search`` (and export ``filters``): an empty list filters nothing."""

    assignee_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    assistant_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    campaign_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    directions: list[Direction] = Field(default_factory=list)
    from_phone_numbers: list[PhoneText] = Field(default_factory=list, max_length=1000)
    outcomes: list[OutcomeSearch] = Field(default_factory=list)
    page: int = Field(default=0, ge=0, le=1_000_000, description="Starting at 0.")
    page_size: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)
    results: list[ResultSearch] = Field(default_factory=list)
    statuses: list[OrderStatus] = Field(default_factory=list)
    call_ids: list[Identifier] | None = Field(default=None, max_length=1000)
    query: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="Case-insensitive text in numbers, ids, metadata, variables."
    )
    sort_by: SortField | None = Field(default=None, description="Default: created_at.")
    sort_direction: Literal["asc", "desc"] | None = Field(default=None, description="Default desc.")
    to_phone_number: PhoneText | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data


class CallExport(StrictModel):
    """``POST /call/export``: every call matching ``filters`` (paging ignored), as CSV."""

    filters: CallSearch
    include_metadata: bool = False
    include_structured_output_fields: bool = False


# ---- responses (documentation of the wire shape; built by services.calls.to_wire) ----


class CallOut(WireModel):
    """A call order as every SDK version from 0.1.1 to 0.5.0 reads it."""

    id: str
    organization_id: str
    status: OrderStatus
    direction: Direction
    to_phone_number: str
    from_phone_number: str = Field(description="Empty until known (the default trunk's).")
    assistant: AssistantOut | None = Field(description="The snapshot the call runs with.")
    assignee: Member | None = None
    call_attempts: list[CallAttemptOut] = Field(description="Most recent first.")
    last_call_attempt: CallAttemptOut | None = None
    call_retry_config: CallRetryConfig | None = None
    calls_count: int
    campaign: CampaignRef | None = None
    contact: Contact
    created_at: str
    updated_at: str
    scheduled_at: str = Field(description="When the first attempt is planned.")
    first_sentence_delay_ms: int
    is_cancelled: bool
    is_completed: bool
    llm_model: LlmModel = Field(description="A custom model's api_key is masked.")
    metadata: dict[str, str] | None = None
    prompt_variables: dict[str, str] | None = None
    follow_up_emails: list[str] | None = None
    outcome: Outcome | None = None
    outcome_summary: str | None = None
    slack_channel_ids: list[str] | None = None


class CallEnvelope(WireModel):
    call: CallOut


class CallSearchResult(WireModel):
    calls: list[CallOut]
    total_count: int


class CallExportOut(WireModel):
    csv: str
    filename: str


class PhoneHistory(WireModel):
    phone_history: dict[str, PhoneHistoryEntry]


class LegacyCallList(WireModel):
    calls: list[LegacyCallEntry]
