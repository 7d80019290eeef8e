"""Notification emails: composing, and sending to a real SMTP server (aiosmtpd) on loopback
over plain SMTP, STARTTLS and TLS, with and without AUTH."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr
from revox.types.call_retrieve_response import CallCallAttemptEmailLog

from openrevox.config import Settings
from openrevox.notifications.base import DeliveryError
from openrevox.notifications.email import (
    SmtpConfig,
    compose_call_email,
    email_log_entry,
    send_email,
    smtp_config,
)

USER = "mailer"
PASSWORD = "s3cret-pass"
FROM = "Openrevox <calls@openrevox.example>"


def a_call(**overrides: Any) -> dict[str, Any]:
    """The parts of a call's wire form an email reads (``GET /call/{id}``'s ``call``)."""
    attempt = {
        "id": "att-2",
        "status": "completed",
        "result": "human",
        "phone_number": "+33612345678",
        "structured_output": {"budget": 1200.0, "wants_demo": True, "notes": ["a", "b"]},
    }
    call: dict[str, Any] = {
        "id": "call-1",
        "direction": "outbound",
        "status": "completed",
        "to_phone_number": "+33612345678",
        "from_phone_number": "+33187654321",
        "outcome": "interested",
        "outcome_summary": "Asked for a quote.",
        "contact": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "company": "Analytical Engines",
            "job_title": None,
        },
        "last_call_attempt": attempt,
        "call_attempts": [attempt],
    }
    call.update(overrides)
    return call


def compose(**kwargs: Any) -> EmailMessage:
    args: dict[str, Any] = {
        "to": ["ops@example.com", "sales@example.com"],
        "from_address": FROM,
        "call": a_call(),
        "assistant_name": "Sales agent",
        "call_url": "https://app.example.com/calls/call-1",
    }
    args.update(kwargs)
    return compose_call_email(**args)


# -- a real SMTP server -------------------------------------------------------------


@dataclass
class Inbox:
    host: str
    port: int
    messages: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)  # per message: did it come over TLS
    # Recipients refused with this reply (e.g. "550 5.1.1 no such user").
    refuse: dict[str, str] = field(default_factory=dict)

    def parsed(self, index: int = -1) -> EmailMessage:
        content = self.messages[index].original_content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.inbox.refuse:
            return self.inbox.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.inbox.messages.append(envelope)
        assert server.transport is not None
        self.inbox.tls.append(server.transport.get_extra_info("sslcontext") is not None)
        return "250 Message accepted"


def authenticator(inbox: Inbox) -> Callable[..., AuthResult]:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password == PASSWORD.encode()
        )
        if ok:
            inbox.logins.append(mechanism)
        # handled=False: the server answers the failure itself (535).
        return AuthResult(success=ok, handled=ok)

    return check


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts the test CA


@pytest.fixture(scope="module")
def tls() -> Tls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(server=server, client=client)


@asynccontextmanager
async def smtp_server(
    *,
    implicit_tls: ssl.SSLContext | None = None,
    starttls: ssl.SSLContext | None = None,
    auth: bool = False,
    require_tls: bool = True,
) -> AsyncIterator[Inbox]:
    """An aiosmtpd server on 127.0.0.1, on a free port, in this event loop."""
    inbox = Inbox(host="127.0.0.1", port=0)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        with warnings.catch_warnings():
            # AUTH without STARTTLS: over implicit TLS, that is what we want.
            warnings.simplefilter("ignore", UserWarning)
            return make()

    def make() -> SMTP:
        return SMTP(
            Handler(inbox),
            hostname="smtp.test",
            tls_context=starttls,
            require_starttls=starttls is not None and require_tls,
            authenticator=authenticator(inbox) if auth else None,
            auth_required=auth,
            # Implicit TLS is TLS too; aiosmtpd only knows about STARTTLS.
            auth_require_tls=implicit_tls is None,
            loop=loop,
        )

    server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=implicit_tls)
    inbox.port = server.sockets[0].getsockname()[1]
    try:
        yield inbox
    finally:
        server.close()
        await server.wait_closed()


def config(
    inbox: Inbox, security: str, *, username: str | None = None, password: str | None = None
) -> SmtpConfig:
    return SmtpConfig(
        host=inbox.host,
        port=inbox.port,
        username=username,
        password=password,
        security=security,  # type: ignore[arg-type]
        from_address=FROM,
    )


def check_received(inbox: Inbox, message: EmailMessage, message_id: str) -> None:
    assert len(inbox.messages) == 1
    envelope = inbox.messages[0]
    assert envelope.mail_from == "calls@openrevox.example"
    assert envelope.rcpt_tos == ["ops@example.com", "sales@example.com"]
    got = inbox.parsed()
    assert got["Message-ID"] == message_id == message["Message-ID"]
    assert got["Subject"] == "Call with +33612345678: interested"
    assert got["From"] == FROM
    assert got["To"] == "ops@example.com, sales@example.com"
    assert got.get_content_type() == "multipart/alternative"
    plain = got.get_body(("plain",))
    html = got.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content().replace("\r\n", "\n")
    assert "Outcome: interested" in text
    assert "Outcome summary: Asked for a quote." in text
    assert "budget: 1200\n" in text
    assert "wants_demo: true\n" in text
    assert 'notes: ["a", "b"]\n' in text
    assert "Name: Ada Lovelace" in text
    assert "Company: Analytical Engines" in text
    assert "Job title" not in text  # empty fields are left out
    assert "View the call: https://app.example.com/calls/call-1" in text
    assert '<a href="https://app.example.com/calls/call-1">' in html.get_content()


# -- configuration ------------------------------------------------------------------


def test_smtp_config_from_settings() -> None:
    assert smtp_config(Settings()) is None
    assert smtp_config(Settings(smtp_host="smtp.example.com")) is None
    assert smtp_config(Settings(email_from="a@example.com")) is None
    made = smtp_config(
        Settings(
            smtp_host="smtp.example.com",
            smtp_port=465,
            smtp_username="me",
            smtp_password=SecretStr("pw"),
            smtp_security="tls",
            email_from="calls@example.com",
        )
    )
    assert made == SmtpConfig(
        host="smtp.example.com",
        port=465,
        username="me",
        password="pw",
        security="tls",
        from_address="calls@example.com",
    )
    assert "pw" not in repr(made)
    default = smtp_config(Settings(smtp_host="smtp.example.com", email_from="c@example.com"))
    assert default is not None
    assert (default.port, default.security, default.username, default.password) == (
        587,
        "starttls",
        None,
        None,
    )


# -- composing ----------------------------------------------------------------------


def test_compose_reads_the_call() -> None:
    message = compose(summary="Ada wants a quote.\nCall back Monday.")
    assert message["Subject"] == "Call with +33612345678: interested"
    assert message["To"] == "ops@example.com, sales@example.com"
    assert message["Message-ID"].endswith("@openrevox.example>")
    plain = message.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert text.startswith("Call with +33612345678 (Sales agent)\n")
    assert "Summary:\nAda wants a quote.\nCall back Monday.\n" in text


def test_compose_without_outcome_output_contact_or_link() -> None:
    bare = a_call(outcome=None, outcome_summary=None, contact={}, call_attempts=[])
    bare["last_call_attempt"] = None
    message = compose(call=bare, call_url=None)
    assert message["Subject"] == "Call with +33612345678: no outcome"
    plain = message.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "Outcome: no outcome" in text
    for absent in ("Outcome summary", "Summary", "Structured output", "Contact", "View the call"):
        assert absent not in text


def test_compose_inbound_names_the_caller_and_humanises_the_outcome() -> None:
    call = a_call(
        direction="inbound",
        from_phone_number="+14155550100",
        to_phone_number="+33187654321",
        outcome="requested_callback_later",
    )
    message = compose(call=call)
    assert message["Subject"] == "Call with +14155550100: requested callback later"


def test_compose_escapes_html_and_blocks_header_injection() -> None:
    call = a_call(
        to_phone_number="+33612345678\r\nBcc: spy@evil.example",
        outcome_summary="<script>alert(1)</script>",
        contact={"first_name": "<b>Bob</b>", "company": "A & B"},
    )
    message = compose(
        call=call,
        to=["ops@example.com\r\nBcc: spy2@evil.example", "Doe, Jane <jane@example.com>"],
        from_address="calls@openrevox.example\nReply-To: spy3@evil.example",
        call_url='https://app.example.com/calls/1?"><script>',
    )
    headers = message.as_bytes().split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers and b"\nReply-To:" not in headers
    assert message["Bcc"] is None and message["Reply-To"] is None
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    html = message.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert "<script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "&lt;b&gt;Bob&lt;/b&gt;" in content
    assert "A &amp; B" in content
    assert 'href="https://app.example.com/calls/1?&quot;&gt;&lt;script&gt;"' in content
    # The plain text part is text: it keeps the characters.
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "<script>alert(1)</script>" in plain.get_content()
    assert "Call with +33612345678 Bcc: spy@evil.example (Sales agent)\n" in plain.get_content()


def test_compose_needs_a_recipient() -> None:
    with pytest.raises(DeliveryError) as raised:
        compose(to=["", "not an address"])
    assert raised.value.retryable is False


def test_compose_splits_and_dedupes_recipients() -> None:
    message = compose(to=["a@example.com, b@example.com", "A@example.com", "c@example.com"])
    assert message["To"] == "a@example.com, b@example.com, c@example.com"


def test_email_log_entry_is_the_sdk_shape() -> None:
    message = compose(to=["ops@example.com", '"Doe, Jane" <jane@example.com>'])
    entry = email_log_entry(
        message, sent_at=datetime(2026, 11, 24, 9, 1, 2, tzinfo=UTC), log_id="log-1"
    )
    assert entry == {
        "id": "log-1",
        "created_at": "2026-11-24T09:01:02Z",
        "from_address": "calls@openrevox.example",
        "resend_message_id": None,
        "subject": "Call with +33612345678: interested",
        "to_emails": ["ops@example.com", "jane@example.com"],
    }
    assert list(entry) == list(CallCallAttemptEmailLog.model_fields)
    CallCallAttemptEmailLog.model_validate(entry)


# -- sending ------------------------------------------------------------------------


async def test_send_plain_smtp() -> None:
    async with smtp_server() as inbox:
        message = compose()
        message_id = await send_email(config(inbox, "none"), message, timeout=10)
    check_received(inbox, message, message_id)
    assert inbox.tls == [False]


async def test_security_none_does_not_upgrade_to_tls(tls: Tls) -> None:
    """``none`` means plain SMTP, even when the server offers STARTTLS."""
    async with smtp_server(starttls=tls.server, require_tls=False) as inbox:
        await send_email(config(inbox, "none"), compose(), timeout=10)
    assert inbox.tls == [False]


async def test_send_starttls_with_login(tls: Tls) -> None:
    async with smtp_server(starttls=tls.server, auth=True) as inbox:
        message = compose()
        message_id = await send_email(
            config(inbox, "starttls", username=USER, password=PASSWORD),
            message,
            timeout=10,
            tls_context=tls.client,
        )
    check_received(inbox, message, message_id)
    assert len(inbox.logins) == 1
    assert inbox.tls == [True]


async def test_send_implicit_tls_with_login(tls: Tls) -> None:
    async with smtp_server(implicit_tls=tls.server, auth=True) as inbox:
        message = compose()
        message_id = await send_email(
            config(inbox, "tls", username=USER, password=PASSWORD),
            message,
            timeout=10,
            tls_context=tls.client,
        )
    check_received(inbox, message, message_id)
    assert len(inbox.logins) == 1
    assert inbox.tls == [True]


async def test_wrong_password_is_not_retryable(tls: Tls) -> None:
    async with smtp_server(starttls=tls.server, auth=True) as inbox:
        with pytest.raises(DeliveryError) as raised:
            await send_email(
                config(inbox, "starttls", username=USER, password="wrong"),
                compose(),
                timeout=10,
                tls_context=tls.client,
            )
    assert raised.value.retryable is False
    assert "authentication failed: 535" in str(raised.value)
    assert inbox.messages == []


async def test_untrusted_certificate_is_not_retryable(tls: Tls) -> None:
    """The system's CAs do not know the test CA: the connection is refused, not made."""
    async with smtp_server(implicit_tls=tls.server) as inbox:
        with pytest.raises(DeliveryError) as raised:
            await send_email(config(inbox, "tls"), compose(), timeout=10)
    assert raised.value.retryable is False
    assert "certificate verification failed" in str(raised.value)
    assert inbox.messages == []


async def test_starttls_asked_but_not_offered_is_not_retryable() -> None:
    async with smtp_server() as inbox:
        with pytest.raises(DeliveryError) as raised:
            await send_email(config(inbox, "starttls"), compose(), timeout=10)
    assert raised.value.retryable is False
    assert "STARTTLS" in str(raised.value)
    assert inbox.messages == []


async def test_server_down_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = SmtpConfig(
        host="127.0.0.1",
        port=port,
        username=None,
        password=None,
        security="none",
        from_address=FROM,
    )
    with pytest.raises(DeliveryError) as raised:
        await send_email(down, compose(), timeout=5)
    assert raised.value.retryable is True
    assert "connection refused" in str(raised.value)


async def test_silent_server_times_out_retryably() -> None:
    """A server that accepts the connection and never greets."""
    accepted: list[asyncio.StreamWriter] = []

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    silent = SmtpConfig(
        host="127.0.0.1",
        port=port,
        username=None,
        password=None,
        security="none",
        from_address=FROM,
    )
    try:
        with pytest.raises(DeliveryError) as raised:
            await send_email(silent, compose(), timeout=0.5)
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
    assert raised.value.retryable is True
    assert "timed out" in str(raised.value)


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        pytest.param("550 5.1.1 No such user", False, id="permanent"),
        pytest.param("450 4.2.1 Mailbox busy, try later", True, id="transient"),
    ],
)
async def test_refused_recipients(reply: str, retryable: bool) -> None:
    async with smtp_server() as inbox:
        inbox.refuse = {"ops@example.com": reply, "sales@example.com": reply}
        with pytest.raises(DeliveryError) as raised:
            await send_email(config(inbox, "none"), compose(), timeout=10)
    assert raised.value.retryable is retryable
    assert reply.split()[0] in str(raised.value)
    assert inbox.messages == []


async def test_one_refused_recipient_does_not_fail_the_others() -> None:
    """A retry would send the accepted recipients a second copy: the send succeeds."""
    async with smtp_server() as inbox:
        inbox.refuse = {"sales@example.com": "550 5.1.1 No such user"}
        message = compose()
        message_id = await send_email(config(inbox, "none"), message, timeout=10)
    assert message_id == message["Message-ID"]
    assert inbox.messages[0].rcpt_tos == ["ops@example.com"]


async def test_message_without_id_gets_one() -> None:
    message = EmailMessage()
    message["From"] = FROM
    message["To"] = "ops@example.com"
    message["Subject"] = "hello"
    message.set_content("hi")
    async with smtp_server() as inbox:
        message_id = await send_email(config(inbox, "none"), message, timeout=10)
    assert message_id.startswith("<") and message_id.endswith("@openrevox.example>")
    assert inbox.parsed()["Message-ID"] == message_id
