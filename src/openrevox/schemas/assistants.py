"""Assistant requests and responses (SDK 0.5.0, plus the legacy fields of 0.1.1-0.3.0)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from openrevox.domain.outcomes import OutcomeFilter
from openrevox.schemas.assistant_parts import (
    Calendly,
    CallRetryConfig,
    CustomTool,
    FaqItemInput,
    FieldSpec,
    LlmModel,
    Point,
    PromptFlow,
    Slack,
    SlackChannel,
    SttContext,
    ThinkingSound,
    TransferDestination,
    Voice,
    Zoho,
    unique_field_names,
    unique_values,
)
from openrevox.schemas.common import (
    E164,
    EmailList,
    HttpUrl,
    Name,
    StrictModel,
    TemplatedHttpUrl,
    Text,
    Unit,
    WireModel,
    http_url,
    reject_nul,
)

AssistantType = Literal["standalone", "multi-step", "sub-assistant"]
FirstSentenceMode = Literal["generated", "static", "none"]
SttModel = Literal["stt-rt-v4", "stt-rt-v5"]
TransferMode = Literal["warm", "cold"]

# Fields a null may not be sent for; absent means "leave as is".
NOT_NULLABLE = frozenset(
    {
        "background_sound_volume",
        "call_retry_config",
        "end_of_call_sentence",
        "faq_items",
        "first_sentence",
        "first_sentence_delay_ms",
        "first_sentence_mode",
        "ivr_navigation_enabled",
        "llm_model",
        "max_call_duration_secs",
        "name",
        "prompt",
        "sms_enabled",
        "structured_output_config",
        "stt_model",
        "thinking_sound_probability",
        "thinking_sound_volume",
        "type",
        "voice",
        "webhook_url",
        "email_notification_language",
    }
)


class AssistantUpdate(StrictModel):
    """``PATCH /assistants/{id}``: every field optional; only the fields sent change.

    An absent field is left as is; ``null`` clears a nullable field and is refused for
    the others (``NOT_NULLABLE``).
    """

    after_call_sms_outcomes: list[OutcomeFilter] | None = None
    after_call_sms_prompt: Text | None = None
    background_sound: Literal["audio/office.ogg"] | None = None
    background_sound_volume: Unit | None = Field(default=None)
    calendly: Calendly | None = None
    call_retry_config: CallRetryConfig | None = Field(default=None)
    cartesia_dictionary_pronunciation_id: str | None = None
    custom_tools: list[CustomTool] | None = Field(default=None, max_length=20)
    email_notification_address: EmailList | None = None
    email_notification_outcomes: list[OutcomeFilter] | None = None
    end_of_call_sentence: Text | None = Field(default=None)
    faq_items: list[FaqItemInput] | None = Field(default=None, max_length=500)
    first_sentence: Text | None = Field(default=None)
    first_sentence_delay_ms: int | None = Field(default=None, ge=0, le=30_000)
    first_sentence_mode: FirstSentenceMode | None = Field(default=None)
    from_phone_number: E164 | None = None
    human_transfer_mode: TransferMode | None = None
    ivr_navigation_enabled: bool | None = Field(default=None)
    llm_model: LlmModel | None = Field(default=None)
    logo_url: HttpUrl | None = None
    max_call_duration_secs: float | None = Field(default=None, gt=0, le=4 * 3600)
    max_duration_end_message: Text | None = None
    name: Name | None = Field(default=None)
    position: Point | None = None
    precall_lookup_url: TemplatedHttpUrl | None = None
    prompt: Text | None = Field(default=None)
    prompt_flow: PromptFlow | None = None
    slack: Slack | None = None
    sms_enabled: bool | None = Field(default=None)
    sms_template: Text | None = None
    structured_output_config: list[FieldSpec] | None = Field(default=None, max_length=50)
    structured_output_prompt: Text | None = None
    stt_context: SttContext | None = None
    stt_model: SttModel | None = Field(default=None)
    thinking_sound: ThinkingSound | None = None
    thinking_sound_probability: Unit | None = Field(default=None)
    thinking_sound_volume: Unit | None = Field(default=None)
    transfer_destinations: list[TransferDestination] | None = Field(default=None, max_length=20)
    type: AssistantType | None = Field(default=None)
    voice: Voice | None = Field(default=None)
    voicemail_message: Text | None = None
    voicemail_sms_prompt: Text | None = None
    warm_transfer_summary_instructions: Text | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
    zoho: Zoho | None = None
    # Legacy (SDK 0.1.1-0.3.0).
    transfer_phone_number: E164 | None = None
    email_notification_language: Literal["en", "fr"] | None = Field(default=None)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data

    @field_validator(*sorted(NOT_NULLABLE), mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null; omit the field to leave it as is")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return http_url(value) if value else value  # "" removes the webhook

    @field_validator("precall_lookup_url")
    @classmethod
    def _precall_lookup_url(cls, value: str | None) -> str | None:
        if value is not None and "{{phone}}" not in value:
            raise ValueError("must contain the {{phone}} placeholder")
        return value

    @field_validator("custom_tools")
    @classmethod
    def _tool_names(cls, value: list[CustomTool] | None) -> list[CustomTool] | None:
        unique_values([tool.name for tool in value or []], "tool name")
        return value

    @field_validator("structured_output_config")
    @classmethod
    def _output_names(cls, value: list[FieldSpec] | None) -> list[FieldSpec] | None:
        unique_field_names(value, "field name")
        return value

    @field_validator("transfer_destinations")
    @classmethod
    def _labels(cls, value: list[TransferDestination] | None) -> list[TransferDestination] | None:
        unique_values([d.label for d in value or []], "label")
        return value


class AssistantCreate(AssistantUpdate):
    """``POST /assistants``: ``name`` and ``prompt`` are required; the rest have defaults."""

    name: Name
    prompt: Text


# ---- responses (documentation of the wire shape; built by services.assistant_view) ----


class SlackOut(WireModel):
    channels: list[SlackChannel]
    connection_id: str
    outcomes: list[OutcomeFilter]
    template: str | None = None
    channel_id: str = Field(description="Legacy (SDK 0.2-0.3): the first channel's id.")
    channel_name: str | None = Field(default=None, description="Legacy: the first channel's name.")


class CreatedBy(WireModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None


class FaqItemOut(WireModel):
    id: str
    question: str
    answer: str
    needs_human_answer: bool
    source: Literal["human", "ai"]


class AssistantOut(WireModel):
    """An assistant as every SDK version from 0.1.1 to 0.5.0 reads it."""

    id: str
    organization_id: str
    name: str
    type: AssistantType
    prompt: str
    after_call_sms_outcomes: list[OutcomeFilter] | None = None
    after_call_sms_prompt: str | None = None
    background_sound: Literal["audio/office.ogg"] | None = None
    background_sound_volume: float
    calendly: Calendly | None = None
    call_retry_config: CallRetryConfig | None = None
    cartesia_dictionary_pronunciation_id: str | None = None
    custom_tools: list[CustomTool] | None = None
    email_notification_address: str | None = None
    email_notification_language: Literal["en", "fr"]
    email_notification_outcomes: list[OutcomeFilter] | None = None
    end_of_call_sentence: str | None = None
    first_sentence: str | None = None
    first_sentence_delay_ms: int
    first_sentence_mode: FirstSentenceMode
    from_phone_number: str | None = None
    human_transfer_mode: TransferMode | None = None
    ivr_navigation_enabled: bool
    llm_model: LlmModel = Field(description="A custom model's api_key is masked.")
    logo_url: str | None = None
    max_call_duration_secs: float
    max_duration_end_message: str | None = None
    position: Point | None = None
    precall_lookup_url: str | None = None
    prompt_flow: PromptFlow | None = None
    slack: SlackOut | None = None
    sms_enabled: bool
    sms_template: str | None = None
    structured_output_config: list[FieldSpec] | None = None
    structured_output_prompt: str | None = None
    stt_context: SttContext | None = None
    stt_model: SttModel
    thinking_sound: ThinkingSound | None = None
    thinking_sound_probability: float
    thinking_sound_volume: float
    transfer_destinations: list[TransferDestination] | None = None
    transfer_phone_number: str | None = Field(
        default=None, description="Legacy: the first transfer destination's number."
    )
    voice: Voice | None = None
    voicemail_message: str | None = None
    voicemail_sms_prompt: str | None = None
    warm_transfer_summary_instructions: str | None = None
    webhook_url: str | None = None
    zoho: Zoho | None = None
    created_at: str
    updated_at: str
    created_by: CreatedBy | None = None
    faq_items: list[FaqItemOut]
    pending_faq_count: int


class AssistantEnvelope(WireModel):
    assistant: AssistantOut


class UnpatchedCallsNotice(WireModel):
    count: int
    variables: list[str]


class AssistantUpdateEnvelope(WireModel):
    assistant: AssistantOut
    unpatchedCallsNotice: UnpatchedCallsNotice | None = None


class AssistantList(WireModel):
    assistants: list[AssistantOut]


class Success(WireModel):
    success: bool


def config_fields() -> frozenset[str]:
    """Fields kept in the assistant's JSON ``config`` (all but identity and FAQ)."""
    return frozenset(AssistantUpdate.model_fields) - {
        "name",
        "type",
        "faq_items",
        "transfer_phone_number",
    }


def dump_fields(body: AssistantUpdate, names: set[str]) -> dict[str, Any]:
    """The given fields of a request in wire form; nested parts only as sent."""
    return body.model_dump(mode="json", include=names, exclude_unset=True)
