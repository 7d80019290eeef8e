"""Slack notifications: ``chat.postMessage`` with a bot token, one message per channel.

Slack answers most failures with HTTP 200 and ``{"ok": false, "error": "..."}``. Errors
trying again cannot fix (a bad token, an unknown channel, a bot not invited to the
channel, ...) give up at once; rate limiting (HTTP 429 with ``Retry-After``, whose
seconds are in ``details["retry_after_secs"]``), Slack's own transient errors, 5xx and
network failures are retried.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from openrevox.domain.outcomes import outcome_matches
from openrevox.notifications.base import DeliveryTry
from openrevox.notifications.variables import fill, fill_lines

DEFAULT_TEMPLATE = """\
*{{assistant_name}}* — call with {{contact_line}}
*Outcome:* {{outcome}}
*Campaign:* {{campaign_name}}
*Summary:* {{summary}}
{{call_url}}"""

# Slack's documented transient errors; every other ``error`` is a lasting refusal.
RETRYABLE_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
HINTS = {
    "invalid_auth": "the bot token is not valid (slack_connections)",
    "not_authed": "no bot token was sent (slack_connections)",
    "token_revoked": "the bot token was revoked (slack_connections)",
    "token_expired": "the bot token expired (slack_connections)",
    "account_inactive": "the bot's Slack account is deactivated",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel: invite it (/invite @bot)",
    "is_archived": "the channel is archived",
    "missing_scope": "the bot token lacks the chat:write scope",
    "msg_too_long": "the message is too long",
    "no_text": "the message is empty",
}


def render_slack_message(template: str | None, variables: Mapping[str, str]) -> str:
    """The message text: ``template`` filled (missing variables are empty text), or the
    default template, whose lines with nothing to show are left out, when it is null or
    blank."""
    if template and template.strip():
        return fill(template, variables).strip()
    return fill_lines(DEFAULT_TEMPLATE, variables)


def slack_channels(config: Mapping[str, Any] | None, call: Mapping[str, Any]) -> list[str]:
    """The channel ids the call's Slack message goes to; empty when none.

    ``config`` is the assistant's ``slack`` object. Nothing is sent unless its
    ``outcomes`` select the call's ``outcome`` (``"none"``: a null outcome). Every
    configured channel is notified, unless the call's ``slack_channel_ids`` (the prompt's
    own routing) is not null: then only the configured channels it names. An older
    single-channel config (``channel_id``) is one channel.
    """
    if not config or not outcome_matches(config.get("outcomes"), call.get("outcome")):
        return []
    configured: list[str] = []
    for channel in config.get("channels") or []:
        ident = channel.get("id") if isinstance(channel, Mapping) else channel
        if ident and str(ident) not in configured:
            configured.append(str(ident))
    if not configured and config.get("channel_id"):
        configured.append(str(config["channel_id"]))
    routed = call.get("slack_channel_ids")
    if routed is None:
        return configured
    wanted = {str(ident) for ident in routed}
    return [ident for ident in configured if ident in wanted]


async def post_to_slack(
    http: httpx.AsyncClient, *, base_url: str, token: str, channel: str, text: str
) -> DeliveryTry:
    """Post ``text`` to ``channel`` (``chat.postMessage``); ``details`` has the
    ``channel`` and the message's ``ts`` on success."""
    started = time.perf_counter()
    url = f"{base_url.rstrip('/')}/chat.postMessage"
    try:
        response = await http.post(
            url,
            json={"channel": channel, "text": text},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        return DeliveryTry(
            ok=False,
            latency_ms=_ms(started),
            error=f"Slack could not be reached: {exc!r}",
            retryable=True,
        )
    status = response.status_code
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {}
    if status == 429:
        retry_after = _seconds(response.headers.get("Retry-After"))
        return DeliveryTry(
            ok=False,
            latency_ms=_ms(started),
            status_code=status,
            error=f"Slack rate limited the message; retry after {retry_after or '?'} s",
            retryable=True,
            details={"retry_after_secs": retry_after} if retry_after is not None else {},
        )
    if status >= 500 or (status >= 400 and not document):
        return DeliveryTry(
            ok=False,
            latency_ms=_ms(started),
            status_code=status,
            error=f"Slack answered HTTP {status}",
            retryable=status >= 500 or status == 408,
        )
    if document.get("ok") is True:
        return DeliveryTry(
            ok=True,
            latency_ms=_ms(started),
            status_code=status,
            details={"channel": document.get("channel") or channel, "ts": document.get("ts")},
        )
    error = str(document.get("error") or "unknown_error")
    hint = HINTS.get(error)
    return DeliveryTry(
        ok=False,
        latency_ms=_ms(started),
        status_code=status,
        error=f"Slack refused the message to {channel}: {error}" + (f" ({hint})" if hint else ""),
        retryable=error in RETRYABLE_ERRORS,
        details={"slack_error": error},
    )


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
