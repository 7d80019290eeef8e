"""Slack chat.postMessage over real HTTP against the fake Slack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from openrevox.notifications.slack import post_to_slack, render_slack_message, slack_channels
from openrevox.testing.fake_slack import FakeSlack, SlackFailure
from openrevox.testing.server import free_port

TOKEN = "xoxb-1234-test"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels=["C0SALES", "C0OUTSIDE"], member_of=["C0SALES"]) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def test_posts_json_with_the_bearer_token(slack: FakeSlack, http: httpx.AsyncClient) -> None:
    attempt = await post_to_slack(
        http, base_url=slack.base_url, token=TOKEN, channel="C0SALES", text="*Hot lead* é"
    )
    assert attempt.ok and attempt.status_code == 200 and attempt.error is None
    [request] = slack.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.content_type.startswith("application/json")
    assert request.body == {"channel": "C0SALES", "text": "*Hot lead* é"}
    [message] = slack.messages
    assert attempt.details == {"channel": "C0SALES", "ts": message.ts}


@pytest.mark.parametrize(
    ("token", "channel", "error", "hint"),
    [
        ("xoxb-wrong", "C0SALES", "invalid_auth", "slack_connections"),
        (TOKEN, "C0NOPE", "channel_not_found", "does not exist"),
        (TOKEN, "C0OUTSIDE", "not_in_channel", "invite"),
    ],
)
async def test_lasting_refusals_are_not_retried(
    slack: FakeSlack, http: httpx.AsyncClient, token: str, channel: str, error: str, hint: str
) -> None:
    attempt = await post_to_slack(
        http, base_url=slack.base_url, token=token, channel=channel, text="hi"
    )
    assert (attempt.ok, attempt.retryable, attempt.status_code) == (False, False, 200)
    assert attempt.error is not None
    assert error in attempt.error and hint in attempt.error and channel in attempt.error
    assert attempt.details == {"slack_error": error}
    assert slack.messages == []


async def test_rate_limit_is_retried_with_retry_after(
    slack: FakeSlack, http: httpx.AsyncClient
) -> None:
    slack.fail_next(SlackFailure("ratelimited", status=429, retry_after=30))
    attempt = await post_to_slack(
        http, base_url=slack.base_url, token=TOKEN, channel="C0SALES", text="hi"
    )
    assert (attempt.ok, attempt.retryable, attempt.status_code) == (False, True, 429)
    assert attempt.details == {"retry_after_secs": 30.0}
    again = await post_to_slack(
        http, base_url=slack.base_url, token=TOKEN, channel="C0SALES", text="hi"
    )
    assert again.ok and len(slack.messages) == 1


@pytest.mark.parametrize(
    "failure",
    [
        SlackFailure(status=503, raw="<html>Service Unavailable</html>"),
        SlackFailure(status=500, error="internal_error"),
        SlackFailure("service_unavailable"),  # HTTP 200 with a transient error
    ],
)
async def test_server_errors_are_retried(
    slack: FakeSlack, http: httpx.AsyncClient, failure: SlackFailure
) -> None:
    slack.fail_next(failure)
    attempt = await post_to_slack(
        http, base_url=slack.base_url, token=TOKEN, channel="C0SALES", text="hi"
    )
    assert (attempt.ok, attempt.retryable, attempt.status_code) == (False, True, failure.status)


async def test_unreachable_slack_is_retried(http: httpx.AsyncClient) -> None:
    attempt = await post_to_slack(
        http, base_url=f"http://127.0.0.1:{free_port()}/api", token=TOKEN, channel="C", text="x"
    )
    assert (attempt.ok, attempt.retryable, attempt.status_code) == (False, True, None)
    assert attempt.error is not None and "could not be reached" in attempt.error


VARIABLES = {
    "assistant_name": "Ava",
    "contact_line": "Jane Doe · +14155550100",
    "outcome": "interested",
    "summary": "Wants a demo next week.",
    "campaign_name": "",
    "call_url": "https://app.test/calls/c1",
    "phone": "+14155550100",
    "budget": "1500",
}


def test_default_template_leaves_out_empty_lines() -> None:
    for template in (None, "", "   "):
        assert render_slack_message(template, VARIABLES) == (
            "*Ava* — call with Jane Doe · +14155550100\n"
            "*Outcome:* interested\n"
            "*Summary:* Wants a demo next week.\n"
            "https://app.test/calls/c1"
        )


def test_custom_template_is_filled_and_unknown_names_are_empty() -> None:
    text = render_slack_message(
        "{{phone}} said {{outcome}} (budget {{budget}}){{missing}}", VARIABLES
    )
    assert text == "+14155550100 said interested (budget 1500)"


async def test_rendered_message_reaches_the_channel(
    slack: FakeSlack, http: httpx.AsyncClient
) -> None:
    text = render_slack_message(None, VARIABLES)
    for channel in slack_channels(
        {
            "channels": [{"id": "C0SALES", "name": "sales"}],
            "outcomes": ["interested"],
            "connection_id": "conn",
        },
        {"outcome": "interested", "slack_channel_ids": None},
    ):
        assert (
            await post_to_slack(
                http, base_url=slack.base_url, token=TOKEN, channel=channel, text=text
            )
        ).ok
    assert [m.text for m in slack.messages] == [text]
    assert json.loads(json.dumps(slack.requests[0].body))["text"].startswith("*Ava*")


CONFIG = {
    "connection_id": "conn",
    "channels": [{"id": "C1", "name": "sales"}, {"id": "C2", "name": None}, {"id": "C3"}],
    "outcomes": ["interested", "none"],
    "template": None,
}


def test_channels_follow_outcomes_and_the_calls_routing() -> None:
    assert slack_channels(CONFIG, {"outcome": "interested"}) == ["C1", "C2", "C3"]
    assert slack_channels(CONFIG, {"outcome": None, "slack_channel_ids": None}) == [
        "C1",
        "C2",
        "C3",
    ]
    assert slack_channels(CONFIG, {"outcome": "completed"}) == []
    routed = {"outcome": "interested", "slack_channel_ids": ["C3", "C9", "C1"]}
    assert slack_channels(CONFIG, routed) == ["C1", "C3"]  # only configured ones, in order
    assert slack_channels(CONFIG, {"outcome": "interested", "slack_channel_ids": []}) == []
    assert slack_channels(None, {"outcome": "interested"}) == []
    assert slack_channels({**CONFIG, "outcomes": []}, {"outcome": "interested"}) == []


def test_legacy_single_channel_config() -> None:
    legacy = {"connection_id": "c", "channel_id": "C7", "outcomes": ["completed"]}
    assert slack_channels(legacy, {"outcome": "completed"}) == ["C7"]
