"""The delivery job kinds: webhook, email, SMS, Slack, Zoho — one try each per run.

Each reads the call as ``GET /call/{id}`` shows it, talks to its channel through the
adapters in ``notifications/`` and ``providers/sms``, and reports a ``DeliveryTry``; the
runner logs it and retries. What a success leaves on the call (``email_log``,
``sms_log``) is written in the transaction that marks the job succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openrevox.config import Settings
from openrevox.jobs.kinds import JobContext, JobStep
from openrevox.notifications.base import DeliveryError, DeliveryTry
from openrevox.notifications.email import (
    compose_call_email,
    email_log_entry,
    send_email,
    smtp_config,
)
from openrevox.notifications.slack import post_to_slack, render_slack_message
from openrevox.notifications.variables import call_variables, fill
from openrevox.notifications.webhooks import encode_event, post_event
from openrevox.notifications.zoho import sync_to_zoho
from openrevox.postcall.analysis import analysis_route, complete_chat
from openrevox.postcall.flow import parties
from openrevox.postcall.notify import EMAIL, SLACK, SMS, WEBHOOK, ZOHO
from openrevox.postcall.prompts import render_transcript
from openrevox.providers.sms.factory import send_sms, sms_log_entry, sms_provider_for
from openrevox.runtime.result import SentSms
from openrevox.services import calls as call_service
from openrevox.services.call_wire import CallView, to_wire
from openrevox.services.webhook_secrets import current_webhook_secret, webhook_secret
from openrevox.storage.models import CallAttempt
from openrevox.storage.repositories.jobs import ClaimedJob

attempts_table = cast(Table, CallAttempt.__table__)
T = TypeVar("T")
SMS_MAX_CHARS = 480  # three concatenated segments


@dataclass
class CallContext:
    """What a delivery reads of its call."""

    view: CallView
    wire: dict[str, Any]
    variables: dict[str, str]

    @property
    def config(self) -> Mapping[str, Any]:
        return self.view.call.assistant_snapshot

    @property
    def attempt(self) -> CallAttempt | None:
        """The attempt the after-call work is about: the last answered one, else the last."""
        attempts = self.view.attempts
        return next((a for a in attempts if a.transcript), attempts[0] if attempts else None)


def call_url(settings: Settings, call_id: str) -> str | None:
    """Where the call is read in the API (``GET /call/{id}``), if the server has a URL."""
    if not settings.public_base_url:
        return None
    return f"{settings.public_base_url.rstrip('/')}/call/{call_id}"


async def load_call(ctx: JobContext, job: ClaimedJob) -> CallContext | None:
    if job.call_id is None:
        return None
    async with ctx.db.read() as session:
        view = await call_service.view_of(session, job.organization_id, job.call_id)
    if view is None:
        return None
    wire = to_wire(view)
    variables = call_variables(
        call=wire,
        assistant_name=str(view.call.assistant_snapshot.get("name") or ""),
        campaign_name=None,
        call_url=call_url(ctx.settings, view.call.id),
        summary=view.call.summary,
    )
    return CallContext(view, wire, variables)


def _connection(
    connections: Mapping[str, T], config: Mapping[str, Any], vendor: str, key: str
) -> T:
    """The server-side credentials named by the config's ``connection_id``."""
    connection_id = str(config.get("connection_id") or "")
    found = connections.get(connection_id)
    if found is None:
        raise DeliveryError(
            f"no {vendor} connection {connection_id!r}: add it to OPENREVOX_{key}_CONNECTIONS",
            retryable=False,
        )
    return found


def _skipped(reason: str) -> JobStep:
    return JobStep(DeliveryTry(ok=True, latency_ms=0, details={"skipped": reason}))


async def _append_log(
    session: AsyncSession, attempt_id: str, column: str, entry: dict[str, Any]
) -> None:
    """Add one entry to an attempt's ``email_log`` or ``sms_log`` (read, then write under
    the runner's write transaction)."""
    a = attempts_table.c
    current = await session.scalar(select(a[column]).where(a.id == attempt_id))
    entries = [e for e in (current or []) if e.get("id") != entry["id"]]  # a replay: once
    await session.execute(
        update(attempts_table).where(a.id == attempt_id).values({column: [*entries, entry]})
    )


class _Delivery:
    """Shared by the delivery kinds: retried for ``delivery_retry_for_hours``."""

    name = ""
    max_tries: int | None = None

    def give_up_after(self, settings: Settings) -> timedelta:
        return timedelta(hours=settings.delivery_retry_for_hours)

    async def gave_up(
        self, session: AsyncSession, ctx: JobContext, job: ClaimedJob, error: str | None
    ) -> None:
        """A delivery that failed for good stays in the log as failed; nothing else."""


class DeliverWebhook(_Delivery):
    """POST the event frozen at completion, signed, with its id on every try."""

    name = WEBHOOK

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        event = job.payload.get("event")
        url = job.payload.get("url")
        if not isinstance(event, dict) or not url:
            raise DeliveryError("the webhook job has no event or url", retryable=False)
        async with ctx.db.read() as session:
            secret = await current_webhook_secret(session, job.organization_id)
        if secret is None:  # the organization's first webhook: made once, under the lock
            async with ctx.db.write() as session:
                secret = await webhook_secret(session, job.organization_id)
        attempt = await post_event(
            ctx.http,
            str(url),
            encode_event(event),
            event_id=job.id,
            secret=secret,
            timeout=ctx.settings.webhook_timeout_secs,
        )
        return JobStep(attempt)


class DeliverEmail(_Delivery):
    name = EMAIL

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        config = smtp_config(ctx.settings)
        if config is None:
            raise DeliveryError(
                "email is not configured: set OPENREVOX_SMTP_HOST and OPENREVOX_EMAIL_FROM",
                retryable=False,
            )
        call = await load_call(ctx, job)
        if call is None:
            return _skipped("the call is gone")
        message = compose_call_email(
            to=list(job.payload.get("to") or []),
            from_address=config.from_address,
            call=call.wire,
            assistant_name=call.variables["assistant_name"],
            call_url=call.variables["call_url"] or None,
            summary=call.view.call.summary,
        )
        started = ctx.now()
        message_id = await send_email(
            config, message, timeout=ctx.settings.webhook_timeout_secs * 3
        )
        latency = (ctx.now() - started).total_seconds() * 1000
        entry = email_log_entry(message, sent_at=ctx.now(), log_id=job.id)
        attempt = call.attempt

        async def commit(session: AsyncSession) -> None:
            if attempt is not None:
                await _append_log(session, attempt.id, "email_log", entry)

        return JobStep(
            DeliveryTry(ok=True, latency_ms=latency, details={"message_id": message_id}), commit
        )


SMS_INSTRUCTIONS = (
    "You write one text message (SMS) that a company sends to the person it just called. "
    "Follow the instructions below. Answer with the message text only: no quotes, no "
    "placeholders, at most {limit} characters, in the language of the conversation."
)


async def write_sms(ctx: JobContext, call: CallContext, prompt: str) -> str:
    """The LLM writes the message from the prompt (variables filled) and the call."""
    route = analysis_route(call.config, ctx.settings)
    summary = call.variables.get("summary") or "(none)"
    context = (
        f"Instructions:\n{fill(prompt, call.variables)}\n\n"
        f"Call outcome: {call.variables.get('outcome')}\nCall summary: {summary}\n\n"
        f"Transcript:\n{render_transcript(call.attempt.transcript or [] if call.attempt else [])}"
    )
    text = await complete_chat(
        ctx.http,
        route,
        [
            {"role": "system", "content": SMS_INSTRUCTIONS.format(limit=SMS_MAX_CHARS)},
            {"role": "user", "content": context},
        ],
    )
    body = (text or "").strip().strip('"').strip()
    if not body:
        raise DeliveryError("the LLM wrote an empty SMS")
    return body[:SMS_MAX_CHARS]


class DeliverSms(_Delivery):
    """After-call or voicemail SMS, written by the LLM from the assistant's prompt."""

    name = SMS

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        kind = job.payload.get("type")
        if kind not in ("after_call", "voicemail"):
            raise DeliveryError(f"unknown SMS type {kind!r}", retryable=False)
        call = await load_call(ctx, job)
        if call is None:
            return _skipped("the call is gone")
        prompt = call.config.get(f"{kind}_sms_prompt")
        if not prompt:
            return _skipped(f"no {kind}_sms_prompt")
        body = await write_sms(ctx, call, str(prompt))
        attempt = call.attempt
        to, sender = parties(call.view)
        sent = await send_sms(
            sms_provider_for(ctx.settings, ctx.http), to=to, body=body, from_number=sender
        )
        if not sent.ok:
            return JobStep(sent)
        message = SentSms(
            to=to,
            body=body,
            provider=str(sent.details.get("provider") or ""),
            provider_message_id=sent.details.get("provider_message_id"),
        )
        entry = sms_log_entry(message, type=kind, sent_at=ctx.now(), log_id=job.id)

        async def commit(session: AsyncSession) -> None:
            if attempt is not None:
                await _append_log(session, attempt.id, "sms_log", entry)

        return JobStep(sent, commit)


class DeliverSlack(_Delivery):
    """One Slack channel's message (``chat.postMessage``)."""

    name = SLACK

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        call = await load_call(ctx, job)
        if call is None:
            return _skipped("the call is gone")
        slack = call.config.get("slack") or {}
        token = _connection(ctx.settings.slack_connections, slack, "Slack", "SLACK")
        attempt = await post_to_slack(
            ctx.http,
            base_url=ctx.settings.slack_api_base_url,
            token=token.get_secret_value(),
            channel=str(job.payload.get("channel")),
            text=render_slack_message(slack.get("template"), call.variables),
        )
        return JobStep(attempt)


class DeliverZoho(_Delivery):
    """Upsert the prospect, attach the note, log the call; resumes what a failed try did."""

    name = ZOHO

    async def run(self, ctx: JobContext, job: ClaimedJob) -> JobStep:
        call = await load_call(ctx, job)
        if call is None:
            return _skipped("the call is gone")
        zoho = call.config.get("zoho") or {}
        connection = _connection(ctx.settings.zoho_connections, zoho, "Zoho", "ZOHO")
        attempt = await sync_to_zoho(
            ctx.http,
            connection,
            zoho,
            variables=call.variables,
            call=call.wire,
            resume=job.result,
        )
        return JobStep(attempt)
