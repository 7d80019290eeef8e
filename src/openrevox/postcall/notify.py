"""Which notifications a completed order gets: one durable job per delivery.

Decided once, when the order completes, from the configuration snapshotted on the call
and the analysed outcome; each job then retries on its own (a Slack outage does not
delay the webhook).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.config import Settings
from openrevox.domain.outcomes import outcome_matches
from openrevox.notifications.slack import slack_channels
from openrevox.notifications.webhooks import build_event
from openrevox.notifications.zoho import zoho_applies
from openrevox.services.call_wire import CallView, to_wire
from openrevox.storage.models import new_id
from openrevox.storage.repositories import jobs as job_repo

WEBHOOK, EMAIL, SMS, SLACK, ZOHO = "webhook", "email", "sms", "slack", "zoho"
DELIVERY_KINDS = (WEBHOOK, EMAIL, SMS, SLACK, ZOHO)
CALL_COMPLETED = "call.completed"


@dataclass(frozen=True)
class Planned:
    kind: str
    payload: dict[str, Any]


def email_recipients(config: Mapping[str, Any], follow_up: list[str] | None) -> list[str]:
    """The assistant's addresses (comma-separated) and the call's follow-up emails, once."""
    listed = str(config.get("email_notification_address") or "").split(",")
    recipients: list[str] = []
    seen: set[str] = set()
    for address in (a.strip() for a in [*listed, *(follow_up or [])]):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            recipients.append(address)
    return recipients


def plan_notifications(view: CallView, wire: Mapping[str, Any]) -> list[Planned]:
    """The deliveries the order's configuration asks for, given its outcome and result.

    ``wire`` is the call as ``GET /call/{id}`` shows it (what the channels read)."""
    call = view.call
    config = call.assistant_snapshot
    outcome = call.outcome
    planned: list[Planned] = []
    if config.get("webhook_url"):
        planned.append(Planned(WEBHOOK, {"type": CALL_COMPLETED, "url": config["webhook_url"]}))
    recipients = email_recipients(config, call.follow_up_emails)
    if recipients and outcome_matches(config.get("email_notification_outcomes"), outcome):
        planned.append(Planned(EMAIL, {"to": recipients}))
    if config.get("after_call_sms_prompt") and outcome_matches(
        config.get("after_call_sms_outcomes"), outcome
    ):
        planned.append(Planned(SMS, {"type": "after_call"}))
    if config.get("voicemail_sms_prompt") and call.result == "voicemail":
        planned.append(Planned(SMS, {"type": "voicemail"}))
    planned.extend(
        Planned(SLACK, {"channel": channel})
        for channel in slack_channels(config.get("slack"), wire)
    )
    if zoho_applies(config.get("zoho"), wire):
        planned.append(Planned(ZOHO, {"module": (config.get("zoho") or {}).get("module")}))
    return planned


async def enqueue_notifications(
    session: AsyncSession, view: CallView, settings: Settings, *, now: datetime
) -> int:
    """Enqueue the order's notifications in the caller's transaction; returns how many.

    A webhook's event is built here, once: every try (and a replay) sends the same
    event, with the job's id as its event id."""
    wire = to_wire(view)
    planned = plan_notifications(view, wire)
    give_up_at = now + timedelta(hours=settings.delivery_retry_for_hours)
    for item in planned:
        job_id = new_id()
        payload = item.payload
        if item.kind == WEBHOOK:
            event = build_event(
                event_id=job_id,
                event_type=CALL_COMPLETED,
                created_at=now,
                call=wire,
                summary=view.call.summary,
            )
            payload = {**payload, "event": event}
        await job_repo.enqueue(
            session,
            organization_id=view.call.organization_id,
            call_id=view.call.id,
            kind=item.kind,
            payload=payload,
            now=now,
            give_up_at=give_up_at,
            job_id=job_id,
        )
    return len(planned)
