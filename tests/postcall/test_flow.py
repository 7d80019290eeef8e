"""After the call, end to end on SQLite and PostgreSQL: a simulated call is dispatched,
analysed by the fake LLM, completed, and notified through real local servers — a
webhook receiver that fails twice, an SMTP server (aiosmtpd), fake Slack — with the SMS
and email logs on the attempt and the unanswered question learned as a FAQ item."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from openrevox.config import Settings
from openrevox.jobs import JobRunner
from openrevox.notifications.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from openrevox.postcall.kinds import post_call_kinds
from openrevox.providers.telephony.simulated import SimulatedTelephony
from openrevox.scheduler import Dispatcher
from openrevox.scheduler.testing import organization, place
from openrevox.services.webhook_secrets import webhook_secret
from openrevox.storage.database import Database
from openrevox.storage.models import FaqItem, utcnow
from openrevox.storage.repositories import jobs as job_repo
from openrevox.testing.fake_openai import FakeOpenAI, FakeRequest, Reply, answer_json, call, say
from openrevox.testing.fake_slack import FakeSlack
from tests.scheduler.conftest import attempts, fast_settings, order, wait_until

HUMAN = "+12025550100"
ANALYSIS = {
    "summary": "Ann wants a demo next week; her budget is 5000 dollars.",
    "outcome": "interested",
    "outcome_summary": "Asked for a demo.",
    "structured_output": {"budget": 5000, "plan": "pro"},
    "contact": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"},
}
SMS_TEXT = "Thanks Ann, your demo invite is on its way. Ava, Acme"


class Receiver:
    """A webhook endpoint on loopback that answers 500 ``failures`` times, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                status = 500 if len(receiver.received) <= receiver.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/revox"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def analyst(request: FakeRequest) -> Reply:
    """The analysis LLM: JSON for the analysis, text for the SMS it is asked to write."""
    return answer_json(ANALYSIS) if request.response_format else say(SMS_TEXT)


@pytest.fixture
def llms() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    agent = FakeOpenAI(
        [
            say("Hello Ann!"),
            call("record_unanswered_question", question="Do you ship to Canada?"),
            say("I will find out for you."),
        ],
        default="Thank you, goodbye.",
    )
    with agent, FakeOpenAI(handler=analyst) as analysis:
        yield agent, analysis


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    from openrevox.storage.migrate import upgrade_async

    await upgrade_async(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


async def run_dispatcher(db: Database, settings: Settings, call_id: str) -> None:
    dispatcher = Dispatcher(db, settings, SimulatedTelephony(settings))
    task = asyncio.create_task(dispatcher.run())
    try:

        async def ended() -> bool:
            return (await order(db, call_id)).status == "post_processing"

        await wait_until(ended, within=30)
    finally:
        dispatcher.stop()
        await task


async def test_a_call_is_analysed_completed_and_notified(
    db: Database,
    database_url: str,
    llms: tuple[FakeOpenAI, FakeOpenAI],
    smtp: tuple[Inbox, int],
) -> None:
    agent, analysis = llms
    inbox, smtp_port = smtp
    receiver = Receiver(failures=2)
    try:
        with FakeSlack(token="xoxb-test", channels=["C1", "C2"]) as slack:
            settings = fast_settings(
                database_url,
                agent,
                analysis_base_url=analysis.base_url,
                analysis_model="analyst",
                delivery_retry_base_seconds=0.05,
                jobs_poll_interval_secs=0.02,
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                smtp_security="none",
                email_from="calls@acme.test",
                slack_api_base_url=slack.base_url,
                slack_connections={"acme-slack": "xoxb-test"},
                public_base_url="https://calls.acme.test",
            )
            org = await organization(db)
            assistant_id = await _assistant(db, org)
            call_id = await place(
                db,
                org,
                HUMAN,
                webhook_url=receiver.url,
                email_notification_address="sales@acme.test, boss@acme.test",
                email_notification_outcomes=["interested"],
                after_call_sms_prompt="Thank {{name}} and say the demo invite follows.",
                after_call_sms_outcomes=["interested", "completed"],
                slack={
                    "connection_id": "acme-slack",
                    "channels": [{"id": "C1", "name": "sales"}],
                    "outcomes": ["interested"],
                    "template": "{{contact_name}} is {{outcome}}: {{summary}} ({{call_url}})",
                },
                structured_output_config=[
                    {"name": "budget", "type": "number", "required": True},
                    {
                        "name": "plan",
                        "type": "enum",
                        "required": False,
                        "enum_options": ["basic", "pro"],
                    },
                ],
            )
            await _attach(db, call_id, assistant_id)
            await run_dispatcher(db, settings, call_id)

            runner = JobRunner(db, settings, post_call_kinds(), worker_id="post-1")
            task = asyncio.create_task(runner.run())
            try:

                async def notified() -> bool:
                    async with db.read() as session:
                        views = await job_repo.list_jobs(session, call_id=call_id)
                    return bool(views) and all(v.status == "succeeded" for v in views)

                await wait_until(notified, within=30)
            finally:
                runner.stop()
                await task
            slack_messages = list(slack.messages)
    finally:
        receiver.close()

    done = await order(db, call_id)
    assert done.status == "completed"
    assert (done.summary, done.outcome, done.outcome_summary) == (
        ANALYSIS["summary"],
        "interested",
        "Asked for a demo.",
    )
    assert done.structured_output == {"budget": 5000, "plan": "pro"}
    assert done.contact is not None and done.contact["email"] == "ann@example.com"
    [attempt] = await attempts(db, call_id)
    assert attempt.structured_output == {"budget": 5000, "plan": "pro"}
    # The analysis read the conversation.
    asked = next(r for r in analysis.requests if r.response_format)
    assert "Goodbye!" in json.dumps(asked.body["messages"])

    # Webhook: two failures then success, one event id, a valid signature each time.
    assert len(receiver.received) == 3
    ids = {headers[EVENT_ID_HEADER] for headers, _ in receiver.received}
    assert len(ids) == 1
    bodies = {body for _, body in receiver.received}
    assert len(bodies) == 1  # the same bytes on every try
    async with db.write() as session:
        secret = await webhook_secret(session, org.organization_id)
    for headers, body in receiver.received:
        timestamp = int(headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
        assert verify(secret, headers[SIGNATURE_HEADER], body, now=timestamp)
    event = json.loads(bodies.pop())
    assert event["id"] == ids.pop() and event["type"] == "call.completed"
    assert (event["call_order_id"], event["summary"], event["calls_count"]) == (
        call_id,
        ANALYSIS["summary"],
        1,
    )
    assert event["call"]["id"] == call_id and event["call"]["outcome"] == "interested"
    async with db.read() as session:
        [hook] = await job_repo.list_jobs(session, call_id=call_id, kinds=["webhook"])
        tries = await job_repo.tries_of(session, hook.id)
    assert hook.id == event["id"]
    assert [(t.ok, t.status_code) for t in tries] == [(False, 500), (False, 500), (True, 200)]

    # Email to both addresses, logged on the attempt.
    [mail] = inbox.messages
    assert sorted(mail.rcpt_tos) == ["boss@acme.test", "sales@acme.test"]
    parsed = message_from_bytes(mail.original_content or b"")
    assert "interested" in str(parsed["Subject"])
    assert [e["to_emails"] for e in attempt.email_log or []] == [
        ["sales@acme.test", "boss@acme.test"]
    ]
    # The after-call SMS the LLM wrote, logged on the attempt.
    [sms] = [e for e in attempt.sms_log or [] if e["type"] == "after_call"]
    assert (sms["message_body"], sms["to_phone_number"]) == (SMS_TEXT, HUMAN)
    sms_request = next(r for r in analysis.requests if not r.response_format)
    assert "Thank Ann and say the demo invite follows." in json.dumps(sms_request.body)
    # Slack: the configured channel, the template filled.
    [posted] = slack_messages
    assert posted.channel == "C1"
    assert posted.text == (
        f"Ann Lee is interested: {ANALYSIS['summary']} (https://calls.acme.test/call/{call_id})"
    )
    # The question the agent could not answer waits for a human in the FAQ.
    async with db.read() as session:
        faq = (await session.execute(_faq_of(assistant_id))).scalars().all()
    assert [(f.question, f.answer, f.needs_human_answer, f.source) for f in faq] == [
        ("Do you ship to Canada?", "", True, "ai")
    ]


async def test_an_analysis_that_keeps_failing_still_completes_the_order(
    db: Database, database_url: str
) -> None:
    receiver = Receiver(failures=0)
    try:
        with (
            FakeOpenAI(default="Thank you, goodbye.") as agent,
            FakeOpenAI(default="this is not JSON") as broken,
        ):
            settings = fast_settings(
                database_url,
                agent,
                analysis_base_url=broken.base_url,
                analysis_model="analyst",
                delivery_retry_base_seconds=0.01,
                jobs_poll_interval_secs=0.02,
            )
            org = await organization(db)
            call_id = await place(db, org, HUMAN, webhook_url=receiver.url)
            await run_dispatcher(db, settings, call_id)
            runner = JobRunner(db, settings, post_call_kinds(), worker_id="post-1")
            task = asyncio.create_task(runner.run())
            try:

                async def completed() -> bool:
                    return len(receiver.received) == 1

                await wait_until(completed, within=30)
            finally:
                runner.stop()
                await task
    finally:
        receiver.close()
    done = await order(db, call_id)
    assert done.status == "completed" and done.outcome is None
    assert done.status_reason is not None
    assert done.status_reason.startswith("after-call analysis failed:")
    async with db.read() as session:
        [analysis_job] = await job_repo.list_jobs(session, call_id=call_id, kinds=["analyse_call"])
    assert (analysis_job.status, analysis_job.tries) == ("failed", 5)
    event = json.loads(receiver.received[0][1])
    assert event["call"]["status"] == "completed" and event["summary"] is None


async def test_a_worker_that_dies_after_posting_leaves_the_event_to_be_sent_again(
    db: Database, database_url: str
) -> None:
    """At least once, never with another id: the first worker posted the event and died
    before recording it; once its lease expires another worker sends the same event."""
    receiver = Receiver(failures=0)
    try:
        settings = fast_settings(database_url, None, jobs_lease_secs=0.5)
        org = await organization(db)
        # A number not attributed: the order ends at once, without a conversation.
        call_id = await place(db, org, "+12025550105", webhook_url=receiver.url)
        await run_dispatcher(db, settings, call_id)
        # The order went to post_processing; the analysis runs and enqueues the webhook.
        first = JobRunner(db, settings, post_call_kinds(), worker_id="first")
        kinds = post_call_kinds()
        async with db.write() as session:
            [analysis_job] = await job_repo.claim_due(
                session,
                worker_id="first",
                now=utcnow(),
                lease_until=utcnow() + timedelta(seconds=5),
                limit=1,
            )
        step = await kinds["analyse_call"].run(first.ctx, analysis_job)
        async with db.write() as session:
            assert step.commit is not None
            await job_repo.settle(
                session, analysis_job.id, "first", now=utcnow(), status=job_repo.SUCCEEDED
            )
            await step.commit(session)
        # "first" claims the webhook, posts it, and dies before recording anything.
        async with db.write() as session:
            [hook] = await job_repo.claim_due(
                session,
                worker_id="first",
                now=utcnow(),
                lease_until=utcnow() + timedelta(seconds=0.5),
                limit=1,
            )
        assert hook.kind == "webhook"
        sent = await kinds["webhook"].run(first.ctx, hook)
        assert sent.attempt.ok
        await first.ctx.http.aclose()
        await asyncio.sleep(0.6)  # the lease expires
        second = JobRunner(db, settings, post_call_kinds(), worker_id="second")
        await second.run_until_idle()
        await second.ctx.http.aclose()
    finally:
        receiver.close()
    assert len(receiver.received) == 2
    (h1, b1), (h2, b2) = receiver.received
    assert h1[EVENT_ID_HEADER] == h2[EVENT_ID_HEADER] == hook.id
    assert b1 == b2
    async with db.read() as session:
        view = await job_repo.get(session, hook.id)
    assert view is not None and (view.status, view.tries) == ("succeeded", 2)
    assert (await order(db, call_id)).status == "completed"


# ---- helpers ----


async def _assistant(db: Database, org: Any) -> str:
    """A stored assistant (FAQ items are learned into a stored assistant)."""
    from openrevox.schemas.assistants import AssistantCreate
    from openrevox.services import assistants

    async with db.write() as session:
        view = await assistants.create(
            session,
            org,
            AssistantCreate.model_validate(
                {"name": "Ava", "prompt": "You are Ava.", "first_sentence_mode": "none"}
            ),
        )
    return view.assistant.id


async def _attach(db: Database, call_id: str, assistant_id: str) -> None:
    """Make the inline-assistant order belong to the stored assistant."""
    from sqlalchemy import update

    from openrevox.storage.models import Call

    async with db.write() as session:
        await session.execute(
            update(Call).where(Call.id == call_id).values(assistant_id=assistant_id)
        )


def _faq_of(assistant_id: str) -> Any:
    from sqlalchemy import select

    return select(FaqItem).where(FaqItem.assistant_id == assistant_id).order_by(FaqItem.position)


async def test_a_voicemail_gets_its_sms_through_twilio_and_lands_in_zoho(
    db: Database, database_url: str, llms: tuple[FakeOpenAI, FakeOpenAI]
) -> None:
    """A voicemail order (attempts exhausted on the greeting) completes: the voicemail SMS
    goes through Twilio Messaging; the Zoho push upserts the prospect after a 503,
    attaches the note and logs the call."""
    from openrevox.testing.fake_twilio import FakeTwilio
    from openrevox.testing.fake_zoho import FakeZoho, ZohoFailure

    agent, analysis = llms
    sid, token = "AC" + "0" * 32, "twilio-token"
    with FakeTwilio(account_sid=sid, auth_token=token) as twilio, FakeZoho() as zoho:
        zoho.fail_next(ZohoFailure(status=503, code="INTERNAL_ERROR"))
        settings = fast_settings(
            database_url,
            agent,
            analysis_base_url=analysis.base_url,
            analysis_model="analyst",
            delivery_retry_base_seconds=0.05,
            sms_provider="twilio",
            twilio_account_sid=sid,
            twilio_auth_token=token,
            twilio_api_base_url=twilio.base_url,
            twilio_from_number="+15005550006",
            zoho_connections={"acme-zoho": zoho.connection()},
        )
        org = await organization(db)
        call_id = await place(
            db,
            org,
            "+12025550101",  # a voicemail greeting, then a beep
            retry={
                "max_retry_attempts": 1,
                "calling_windows": [
                    {
                        "calling_window_start_time": "00:00",
                        "calling_window_end_time": "24:00",
                        "retry_delay_seconds": 0,
                    }
                ],
            },
            voicemail_sms_prompt="Tell {{name}} we tried to reach them about the demo.",
            zoho={
                "connection_id": "acme-zoho",
                "module": "Leads",
                "outcomes": ["interested", "none"],
                "field_mapping": [],
                "log_call_activity": True,
            },
        )
        await run_dispatcher(db, settings, call_id)
        runner = JobRunner(db, settings, post_call_kinds(), worker_id="post-1")
        task = asyncio.create_task(runner.run())
        try:

            async def notified() -> bool:
                async with db.read() as session:
                    views = await job_repo.list_jobs(session, call_id=call_id)
                return len(views) == 3 and all(v.status == "succeeded" for v in views)

            await wait_until(notified, within=30)
        finally:
            runner.stop()
            await task
        messages = list(twilio.messages)
        lead = zoho.record_by_phone("Leads", "+12025550101")
        notes, logged = list(zoho.notes), list(zoho.calls)

    done = await order(db, call_id)
    assert (done.status, done.result) == ("completed", "voicemail")
    [message] = messages
    assert (message.to, message.from_, message.body) == ("+12025550101", "+15005550006", SMS_TEXT)
    [attempt] = await attempts(db, call_id)
    [sms] = attempt.sms_log or []
    assert (sms["type"], sms["provider"], sms["provider_message_id"]) == (
        "voicemail",
        "twilio",
        message.sid,
    )
    assert lead is not None
    assert [n["Parent_Id"] for n in notes] == [lead["id"]] and len(logged) == 1
    async with db.read() as session:
        [push] = await job_repo.list_jobs(session, call_id=call_id, kinds=["zoho"])
        tries = await job_repo.tries_of(session, push.id)
    assert [t.ok for t in tries] == [False, True]
    assert push.result is not None and push.result["record_id"] == lead["id"]


def test_the_other_party_is_the_callee_or_the_caller() -> None:
    from openrevox.postcall.flow import facts_of, parties
    from openrevox.services.call_wire import CallView
    from openrevox.storage.models import Call, CallAttempt

    outbound = Call(direction="outbound", to_phone_number=HUMAN, from_phone_number=None)
    dialled = CallAttempt(phone_number=HUMAN, from_phone_number="+15005550006", transcript=[])
    assert parties(CallView(outbound, [dialled])) == (HUMAN, "+15005550006")
    inbound = Call(
        direction="inbound", to_phone_number="+15005550006", from_phone_number="+33612345678"
    )
    view = CallView(inbound, [CallAttempt(phone_number="+33612345678", transcript=[])])
    assert parties(view) == ("+33612345678", "+15005550006")
    facts = facts_of(view)
    assert (facts.user_phone_number, facts.agent_phone_number) == ("+33612345678", "+15005550006")
