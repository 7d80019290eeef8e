"""Campaign requests and responses (SDK 0.5.0 ``client.campaigns``, plus SDK 0.3.0's
``create(launch=, type=, scheduled_at=)`` and ``POST /campaigns/{id}/launch``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator
from typing_extensions import TypedDict

from openrevox.domain.scheduling import OrderStatus
from openrevox.schemas.assistant_parts import CallRetryConfig
from openrevox.schemas.call_parts import Direction, Member
from openrevox.schemas.calls import (
    MAX_PAGE_SIZE,
    Identifier,
    OutcomeSearch,
    PhoneText,
    ResultSearch,
    VariableName,
    VariableValue,
)
from openrevox.schemas.common import Name, StrictModel, WireModel, at, reject_nul

# Contacts of one create (and call ids of one launch selection). The routes parse and
# check such bodies in a worker thread (api/bodies.py): ~10 MB of JSON at the limit.
MAX_CONTACTS = 100_000
# Values of a contact's variables: strings; numbers and booleans are taken as their text
# (SDK 0.5.0 types ``prompt_variables`` as ``object``).
VariableInput = VariableValue | int | float | bool


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ContactIn(TypedDict):
    """One contact: the number to call and the variables its call fills the prompt with.

    A typed dict, not a model: pydantic checks 100,000 of them in a third of the time.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    to_phone_number: Annotated[
        PhoneText, Field(description="E.164, or a national number of the organization's country.")
    ]
    prompt_variables: NotRequired[
        Annotated[dict[VariableName, VariableInput], Field(max_length=500)]
    ]


def contact_variables(contact: ContactIn) -> dict[str, str]:
    """The contact's variables as text, as its call fills the prompt with them."""
    return {k: _text(v) for k, v in contact.get("prompt_variables", {}).items()}


def _text(value: VariableInput) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CampaignCreate(StrictModel):
    """``POST /campaigns``: every contact becomes a call in ``not_launched``."""

    assistant_id: Identifier
    name: Name
    contacts: list[ContactIn] = Field(min_length=1, max_length=MAX_CONTACTS)
    call_retry_config: CallRetryConfig | None = Field(
        default=None, description="Overrides the assistant's for the campaign's calls."
    )
    from_phone_number: PhoneText | None = None
    max_concurrent_calls: int | None = Field(default=None, ge=1, le=10_000)
    # SDK 0.3.0: launch at once (default false), the type, and when to start.
    launch: bool | None = Field(default=None, description="SDK 0.3.0: launch every call now.")
    type: Literal["regular", "jump_in"] | None = Field(default=None, description="SDK 0.3.0.")
    scheduled_at: datetime | None = Field(
        default=None, description="SDK 0.3.0: with launch, when the calls start."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return _whole_numbers(data, "max_concurrent_calls")

    @field_validator("scheduled_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _no_jump_in(self) -> CampaignCreate:
        if self.type == "jump_in":
            raise at("type", "jump_in campaigns are not available; use regular")
        return self


class CampaignUpdate(StrictModel):
    """``PATCH /campaigns/{id}``: applied to the calls not completed yet. ``null`` clears
    ``call_retry_config`` (back to the assistant's), ``from_phone_number`` and
    ``max_concurrent_calls`` (no campaign limit)."""

    name: Name | None = None
    call_retry_config: CallRetryConfig | None = None
    from_phone_number: PhoneText | None = None
    max_concurrent_calls: int | None = Field(default=None, ge=1, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        if isinstance(data, dict) and "name" in data and data["name"] is None:
            raise at("name", "may not be null")
        return _whole_numbers(data, "max_concurrent_calls")


class RowSelection(StrictModel):
    mode: Literal["only", "all_except"]
    call_ids: list[Identifier] = Field(max_length=MAX_CONTACTS)


class FilterSelection(StrictModel):
    """As in call search: lists combine with AND, values within one with OR; empty: all."""

    assignee_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    directions: list[Direction] = Field(default_factory=list)
    outcomes: list[OutcomeSearch] = Field(default_factory=list)
    results: list[ResultSearch] = Field(default_factory=list)
    statuses: list[OrderStatus] = Field(default_factory=list)
    query: Annotated[str, StringConstraints(max_length=500)] | None = None


class Selection(StrictModel):
    rows: RowSelection
    filters: FilterSelection


class CampaignLaunch(StrictModel):
    """``POST /campaigns/{id}/launch-calls``."""

    mode: Literal["ai_first", "speed_dial"]
    selection: Selection
    scheduled_at: datetime | None = Field(
        default=None, description="ISO 8601; without a zone, UTC. Omitted or past: now."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data

    @field_validator("scheduled_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


def _whole_numbers(data: Any, *names: str) -> Any:
    """The SDK sends ``max_concurrent_calls`` as a float: ``3.0`` is 3; ``2.5`` is refused."""
    if isinstance(data, dict):
        for name in names:
            value = data.get(name)
            if isinstance(value, float) and value.is_integer():
                data = {**data, name: int(value)}
    return data


# ---- responses (documentation of the wire shape; built by services.campaigns) ----


class RowStats(WireModel):
    total: int
    not_launched: int
    pending: int
    retry: int
    calling: int
    completed: int
    failed: int
    skipped: int


class FunnelStats(WireModel):
    total_leads: int
    talked_to_human: int
    hot: int


class CampaignOut(WireModel):
    id: str
    organization_id: str
    assistant_id: str
    name: str
    status: Literal["draft", "running", "paused", "completed"] = Field(
        description="From its calls (docs/campaigns.md); draft only for SDKs before 0.4.0."
    )
    is_cancelled: bool
    type: Literal["regular"] = "regular"
    call_retry_config: CallRetryConfig | None = None
    from_phone_number: str | None = None
    max_concurrent_calls: int | None = None
    created_by: Member | None = None
    row_stats: RowStats
    funnel_stats: FunnelStats
    scheduled_at: str | None = None
    created_at: str
    updated_at: str


class CampaignEnvelope(WireModel):
    campaign: CampaignOut


class CampaignList(WireModel):
    campaigns: list[CampaignOut]


class RowOut(WireModel):
    id: str
    row_index: int
    phone_number: str
    input_data: dict[str, str]
    call: dict[str, Any] | None = Field(description="The call, as GET /call/{id} returns it.")


class RowPage(WireModel):
    rows: list[RowOut]
    total_count: int
    page: int
    page_size: int
    total: int = Field(description="SDK 0.1.1: the same as total_count.")


class Skipped(WireModel):
    active: int
    attempts_exhausted: int
    cancelled: int


class LaunchResult(WireModel):
    launched: int
    skipped: Skipped
    session: None = None


class CampaignExportOut(WireModel):
    csv: str
    filename: str


__all__ = [
    "MAX_PAGE_SIZE",
    "CampaignCreate",
    "CampaignEnvelope",
    "CampaignExportOut",
    "CampaignLaunch",
    "CampaignList",
    "CampaignUpdate",
    "LaunchResult",
    "RowPage",
]
