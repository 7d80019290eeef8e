"""Phone number requests and responses (SDK 0.5.0 ``client.phone_numbers``, plus the
``POST /phone-numbers`` extension that adds a number)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from openrevox.schemas.assistants import AssistantOut
from openrevox.schemas.common import StrictModel, WireModel, reject_nul

Provider = Literal["twilio", "telnyx", "sip"]
Source = Literal["user_imported", "revox_provisioned", "revox_purchased"]
NumberType = Literal["owned_number", "verified_caller_id"]
Label = Annotated[str, StringConstraints(max_length=200)]
Identifier = Annotated[str, StringConstraints(max_length=200)]
SipUri = Annotated[str, StringConstraints(max_length=2048)]


def _sip_uri(value: str | None) -> str | None:
    if value is not None and not value.lower().startswith(("sip:", "sips:")):
        raise ValueError("must be a sip: or sips: URI (e.g. sip:+14155550100@pbx.example.com)")
    if value is not None and (" " in value or len(value) < 5):
        raise ValueError(f"{value!r} is not a SIP URI")
    return value


class PhoneNumberCreate(StrictModel):
    """``POST /phone-numbers``: a number the organization owns (or verified as caller id)."""

    phone_number: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="E.164, or a national number of the organization's country."
    )
    provider: Provider
    source: Source = "user_imported"
    type: NumberType = "owned_number"
    label: Label | None = None
    inbound_sip_uri: SipUri | None = None
    inbound_assistant_id: Identifier | None = Field(
        default=None, description="The assistant that answers calls to this number."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data

    @field_validator("inbound_sip_uri")
    @classmethod
    def _check_sip_uri(cls, value: str | None) -> str | None:
        return _sip_uri(value)


class PhoneNumberUpdate(StrictModel):
    """``PATCH /phone-numbers/{id}``: only the fields sent change; null clears."""

    inbound_assistant_id: Identifier | None = None
    label: Label | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        reject_nul(data)
        return data


class Creator(WireModel):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None


class PhoneNumberOut(WireModel):
    id: str
    created_at: str
    created_by: Creator | None = None
    inbound_assistant: AssistantOut | None = None
    inbound_sip_uri: str | None = None
    label: str | None = None
    livekit_outbound_trunk_id: str | None = None
    phone_number: str
    provider: Provider
    source: Source
    type: NumberType


class PhoneNumberEnvelope(WireModel):
    phone_number: PhoneNumberOut


class PhoneNumberList(WireModel):
    phone_numbers: list[PhoneNumberOut]
