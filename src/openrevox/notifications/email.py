"""After-call notification emails over SMTP (docs/notifications.md#email).

A pure adapter: no database. ``compose_call_email`` builds the message from the call's
wire form (the ``call`` object of ``GET /call/{id}``), ``send_email`` hands it to the
configured SMTP server with aiosmtplib, and ``email_log_entry`` is the SDK's
``email_log`` item that records it on the call attempt.

Failures raise ``DeliveryError``: ``retryable`` is False when trying again cannot help
(authentication refused, a permanent 5xx reply, TLS or a server that lacks what the
settings ask for), True for what may pass (connection errors, timeouts, 4xx replies).
"""

from __future__ import annotations

import html
import logging
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parseaddr
from typing import Any, Literal

import aiosmtplib

from openrevox.config import Settings
from openrevox.notifications.base import DeliveryError
from openrevox.notifications.variables import (
    as_text,
    contact_fields,
    contact_name,
    prospect_phone,
    structured_output,
)

log = logging.getLogger(__name__)

CONTACT_LABELS = (
    ("email", "Email"),
    ("company", "Company"),
    ("job_title", "Job title"),
)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how notification emails are sent (the ``OPENREVOX_SMTP_*`` settings)."""

    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    security: Literal["none", "starttls", "tls"]
    from_address: str


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """The SMTP configuration, or None when email is not configured (no ``smtp_host`` or
    no ``email_from``)."""
    if not settings.smtp_host or not settings.email_from:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=password,
        security=settings.smtp_security,
        from_address=settings.email_from,
    )


# -- composing ----------------------------------------------------------------------


def header_safe(value: str) -> str:
    """``value`` on one line: CR, LF and other line breaks become spaces (no header
    injection), runs of whitespace one space."""
    return " ".join(value.split())


def _outcome_label(outcome: Any) -> str:
    return as_text(outcome).replace("_", " ") if outcome else "no outcome"


def _contact_lines(call: Mapping[str, Any]) -> list[tuple[str, str]]:
    contact = contact_fields(call)
    name = contact_name(contact)
    lines = [("Name", name)] if name else []
    lines += [(label, contact[key]) for key, label in CONTACT_LABELS if contact.get(key)]
    return lines


def _domain(address: str) -> str:
    _, addr = parseaddr(address)
    domain = addr.rpartition("@")[2].strip()
    return domain or "openrevox.localhost"


def _recipients(to: Iterable[str]) -> list[str]:
    """Each address once; an entry may be a comma-separated list (the assistant's
    ``email_notification_address``); what is not an address is left out."""
    seen: dict[str, str] = {}
    for name, address in getaddresses([header_safe(raw) for raw in to]):
        if "@" in address and address.lower() not in seen:
            seen[address.lower()] = formataddr((name, address)) if name else address
    return list(seen.values())


def compose_call_email(
    *,
    to: list[str],
    from_address: str,
    call: dict[str, Any],
    assistant_name: str,
    call_url: str | None,
    summary: str | None = None,
) -> EmailMessage:
    """The notification email of one call: plain text with a simple HTML alternative.

    It gives the phone number, the outcome and its explanation, the summary (the
    after-call analysis' summary: ``summary`` when given, else ``call["summary"]`` if
    present), the structured output as ``key: value`` lines, the contact, and a link to
    the call. Everything put into a header is reduced to one line.
    """
    recipients = _recipients(to)
    if not recipients:
        raise DeliveryError("no email recipients", retryable=False)
    phone = header_safe(prospect_phone(call)) or "unknown number"
    outcome = _outcome_label(call.get("outcome"))
    outcome_summary = as_text(call.get("outcome_summary")).strip()
    summary_text = as_text(summary if summary is not None else call.get("summary")).strip()
    output = structured_output(call)
    contact = _contact_lines(call)
    assistant = assistant_name.strip()

    message = EmailMessage()
    message["Subject"] = header_safe(f"Call with {phone}: {outcome}")
    message["From"] = header_safe(from_address)
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=header_safe(_domain(from_address)))
    message["Auto-Submitted"] = "auto-generated"

    # Plain text.
    lines = [f"Call with {phone}" + (f" ({assistant})" if assistant else ""), ""]
    lines.append(f"Outcome: {outcome}")
    if outcome_summary:
        lines.append(f"Outcome summary: {outcome_summary}")
    if summary_text:
        lines += ["", "Summary:", summary_text]
    if output:
        lines += ["", "Structured output:"]
        lines += [f"{key}: {as_text(value)}" for key, value in output.items()]
    if contact:
        lines += ["", "Contact:"]
        lines += [f"{label}: {value}" for label, value in contact]
    if call_url:
        lines += ["", f"View the call: {call_url}"]
    message.set_content("\n".join(lines) + "\n")

    # HTML: the same, every value escaped.
    e = html.escape
    parts = [
        f"<h2>Call with {e(phone)}</h2>",
        f"<p>Assistant: {e(assistant)}</p>" if assistant else "",
        f"<p><strong>Outcome:</strong> {e(outcome)}</p>",
        f"<p><strong>Outcome summary:</strong> {e(outcome_summary)}</p>" if outcome_summary else "",
    ]
    if summary_text:
        body = "<br>".join(e(line) for line in summary_text.splitlines())
        parts.append(f"<h3>Summary</h3><p>{body}</p>")
    if output:
        items = "".join(
            f"<li><strong>{e(str(key))}:</strong> {e(as_text(value))}</li>"
            for key, value in output.items()
        )
        parts.append(f"<h3>Structured output</h3><ul>{items}</ul>")
    if contact:
        items = "".join(f"<li><strong>{e(k)}:</strong> {e(v)}</li>" for k, v in contact)
        parts.append(f"<h3>Contact</h3><ul>{items}</ul>")
    if call_url:
        parts.append(f'<p><a href="{e(call_url, quote=True)}">View the call</a></p>')
    document = "".join(part for part in parts if part)
    message.add_alternative(
        f'<!doctype html><html><body style="font-family: sans-serif">{document}</body></html>\n',
        subtype="html",
    )
    return message


# -- sending ------------------------------------------------------------------------


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _delivery_error(exc: Exception, config: SmtpConfig, timeout: float) -> DeliveryError:
    where = f"{config.host}:{config.port}"
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or str(cause)
            return DeliveryError(
                f"SMTP {where}: TLS certificate verification failed: {reason}",
                retryable=False,
            )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"SMTP {where}: authentication failed: {exc.code} {header_safe(exc.message)}",
            retryable=False,
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        refused = "; ".join(
            f"{r.recipient}: {r.code} {header_safe(r.message)}" for r in exc.recipients
        )
        transient = any(400 <= code < 500 for code in codes)
        return DeliveryError(
            f"SMTP {where}: every recipient refused: {refused}", retryable=transient
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500
        return DeliveryError(
            f"SMTP {where}: {exc.code} {header_safe(exc.message)}", retryable=transient
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return DeliveryError(f"SMTP {where}: timed out after {timeout:g} s", retryable=True)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryError(f"SMTP {where}: {header_safe(str(exc))}", retryable=False)
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        for cause in _causes(exc):
            if isinstance(cause, ConnectionRefusedError):
                return DeliveryError(f"SMTP {where}: connection refused", retryable=True)
        return DeliveryError(f"SMTP {where}: {header_safe(str(exc))}", retryable=True)
    message = header_safe(str(exc)) or type(exc).__name__
    if isinstance(exc, aiosmtplib.SMTPException) and (
        "not supported by" in message or "No suitable authentication" in message
    ):
        # The server lacks STARTTLS or AUTH the settings ask for: a configuration error.
        return DeliveryError(f"SMTP {where}: {message}", retryable=False)
    return DeliveryError(f"SMTP {where}: {message}", retryable=True)


async def send_email(
    config: SmtpConfig,
    message: EmailMessage,
    *,
    timeout: float = 30,  # noqa: ASYNC109 (the per-try limit, also passed to SMTP)
    tls_context: ssl.SSLContext | None = None,
) -> str:
    """Send ``message`` through ``config``'s server; the message's ``Message-ID``.

    ``security``: ``none`` is plain SMTP, ``starttls`` upgrades a plain connection (and
    fails if the server cannot), ``tls`` is TLS from the first byte (usually port 465).
    Certificates are verified against the system's CAs, or ``tls_context`` when given.
    Logs in when a username is set. Raises ``DeliveryError``.
    """
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid(domain=_domain(config.from_address))
    message_id = str(message["Message-ID"])
    try:
        errors, _ = await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username or None,
            password=config.password if config.username else None,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=tls_context,
            timeout=timeout,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise _delivery_error(exc, config, timeout) from exc
    if errors:
        # Delivered to the others: a retry would send them a duplicate.
        log.warning(
            "email %s: some recipients refused: %s",
            message_id,
            {address: str(response) for address, response in errors.items()},
        )
    return message_id


def email_log_entry(message: EmailMessage, *, sent_at: datetime, log_id: str) -> dict[str, Any]:
    """The SDK's ``email_log`` item (``CallCallAttemptEmailLog``) for a sent message."""
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    to_emails = [
        address
        for _, address in getaddresses([str(value) for value in message.get_all("To") or []])
        if address
    ]
    from_header = str(message["From"] or "")
    return {
        "id": log_id,
        "created_at": sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "from_address": parseaddr(from_header)[1] or from_header,
        "resend_message_id": None,
        "subject": str(message["Subject"] or ""),
        "to_emails": to_emails,
    }
