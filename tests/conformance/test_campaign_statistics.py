"""``client.campaigns.statistics(id)`` through SDK 0.5.0 with strict validation, and
through SDK 0.3.0 and 0.4.0 (each in its own interpreter: 0.3.0's ``leads`` are ``hot`` /
``warm``, and it knows a ``draft`` campaign). Finished calls are written straight
into the server's database, as the dispatcher and the analysis would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from revox import NotFoundError, Revox
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from openrevox.storage.models import Call, CallAttempt, new_id
from tests.conformance.conftest import Deployment
from tests.conformance.test_calls_sync import ALWAYS, sync_url

SDK_ROOT = Path(__file__).resolve().parents[2] / ".sdk"
NUMBERS = [f"+1202555{n:04d}" for n in range(4000, 4004)]
T0 = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)


def create_campaign(client: Revox, count: int, **assistant: Any) -> tuple[str, list[str]]:
    """A campaign of ``count`` contacts; returns its id and its calls' ids in row order."""
    assistant_id = client.assistants.create(
        name="Stats agent",
        prompt="You call {{first_name}}.",
        call_retry_config=ALWAYS,  # type: ignore[arg-type]
        **assistant,
    ).assistant.id
    campaign = client.campaigns.create(
        assistant_id=assistant_id,
        name="Stats",
        contacts=[
            {"to_phone_number": NUMBERS[i], "prompt_variables": {"first_name": f"Ada{i}"}}
            for i in range(count)
        ],
    ).campaign
    rows = client.campaigns.get_rows(campaign.id).rows
    return campaign.id, [row.call.id for row in rows if row.call is not None]


def launch(client: Revox, campaign_id: str, call_ids: list[str]) -> None:
    """Launch these calls for a far date (the server's dispatcher leaves them alone);
    the test then finishes them itself."""
    client.campaigns.launch(
        campaign_id,
        mode="ai_first",
        selection={
            "rows": {"mode": "only", "call_ids": call_ids},
            "filters": {
                "assignee_ids": [],
                "directions": [],
                "outcomes": [],
                "results": [],
                "statuses": [],
            },
        },
        scheduled_at="2031-01-06T10:00:00Z",
    )


def finish(
    deployment: Deployment, call_id: str, result: str | None, minute: int, **call: Any
) -> str:
    """One finished attempt on the call; the call completed with ``call``'s values."""
    start = T0 + timedelta(minutes=minute)
    attempt_id = new_id()
    engine = create_engine(sync_url(deployment.database_url))
    try:
        with Session(engine) as session, session.begin():
            number = session.get(Call, call_id).to_phone_number  # type: ignore[union-attr]
            session.add(
                CallAttempt(
                    id=attempt_id,
                    call_id=call_id,
                    attempt_number=1,
                    status="completed",
                    result=result,
                    phone_number=number,
                    started_at=start,
                    answered_at=start + timedelta(seconds=5) if result else None,
                    ended_at=start + timedelta(seconds=65),
                    handled_by_human=bool(call.pop("joined", False)),
                    created_at=start,
                    updated_at=start,
                )
            )
            values = {"status": "completed", "calls_count": 1, "result": result, **call}
            session.execute(update(Call).where(Call.id == call_id).values(**values))
    finally:
        engine.dispose()
    return attempt_id


def test_statistics_of_a_campaign_with_finished_calls(
    client: Revox, other_client: Revox, deployment: Deployment
) -> None:
    campaign_id, calls = create_campaign(
        client,
        4,
        structured_output_config=[{"name": "email", "type": "string", "required": False}],
    )
    launch(client, campaign_id, calls[:3])
    hot_attempt = finish(
        deployment,
        calls[0],
        "human",
        1,
        outcome="interested",
        outcome_summary="Wants a demo",
        contact={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        structured_output={"email": "ada@example.com"},
        joined=True,
    )
    finish(deployment, calls[1], "human", 2, outcome="requested_callback_later")
    finish(deployment, calls[2], "voicemail", 3)

    stats = client.campaigns.statistics(campaign_id).statistics

    assert stats.campaign.id == campaign_id and stats.campaign.name == "Stats"
    assert stats.campaign.agent_name == "Stats agent"
    assert stats.campaign.status == "paused"  # the fourth contact is not launched
    assert stats.campaign.has_activity is True
    assert stats.campaign.first_activity_at == "2026-02-02T15:01:00Z"
    assert stats.campaign.last_activity_at == "2026-02-02T15:04:05Z"
    assert stats.campaign.max_attempts_per_contact == 3
    assert stats.campaign.timezone == "America/New_York"
    assert (stats.effort.calls_total, stats.effort.outbound_attempts) == (3, 3)
    assert stats.effort.inbound_calls == 0
    funnel = stats.funnel
    assert (funnel.called.count, funnel.called.imported_rows) == (3, 4)
    assert (funnel.reached.count, funnel.reached.outbound, funnel.reached.inbound) == (2, 2, 0)
    assert funnel.reached.overlap == 0 and funnel.reached.pct_of_called == 66.7
    assert (funnel.real_exchanges.count, funnel.real_exchanges.pct_of_reached) == (2, 100.0)
    assert (funnel.hot_leads.count, funnel.hot_leads.pct_of_reached) == (1, 50.0)
    assert stats.hot_lead_outcomes == ["interested"]
    assert [(o.outcome, o.count) for o in stats.outcome_breakdown] == [
        ("interested", 1),
        ("requested_callback_later", 1),
        ("not_interested", 0),
        ("completed", 0),
    ]
    [lead] = stats.leads.interested
    assert (lead.call_id, lead.attempt_id, lead.phone) == (calls[0], hot_attempt, NUMBERS[0])
    assert (lead.name, lead.email, lead.summary) == (
        "Ada Lovelace",
        "ada@example.com",
        "Wants a demo",
    )
    assert lead.direction == "outbound"
    assert [c.call_id for c in stats.leads.callback_requested] == [calls[1]]
    assert stats.inbound.unique_callers == 0
    assert stats.jump_in.joined_calls == 1
    assert stats.jump_in.median_conversation_seconds == 60.0
    assert stats.jump_in.median_time_to_join_seconds is None
    assert stats.data_extraction is not None and stats.data_extraction.fields == ["email"]
    assert (
        stats.data_extraction.intro == "After each real exchange the agent extracts 1 field: email."
    )

    with pytest.raises(NotFoundError):
        other_client.campaigns.statistics(campaign_id)
    with pytest.raises(NotFoundError):
        client.campaigns.statistics(new_id())


def test_an_empty_campaign(client: Revox, deployment: Deployment) -> None:
    campaign_id, _ = create_campaign(client, 2)
    stats = client.campaigns.statistics(campaign_id).statistics
    assert stats.campaign.has_activity is False
    assert stats.campaign.first_activity_at is None
    assert stats.funnel.reached.pct_of_called is None
    assert stats.funnel.hot_leads.pct_of_reached is None
    assert stats.leads.interested == [] and stats.data_extraction is None


OLDER_FLOW = """
import json, sys
import revox
from revox import Revox

base_url, api_key, campaign_id = sys.argv[1:4]
with Revox(api_key=api_key, base_url=base_url, max_retries=0,
           _strict_response_validation=True) as client:
    stats = client.campaigns.statistics(campaign_id).statistics
    legacy = revox.__version__ == "0.3.0"
    hot = stats.leads.hot if legacy else stats.leads.interested
    warm = stats.leads.warm if legacy else stats.leads.callback_requested
    print(json.dumps({
        "version": revox.__version__,
        "status": stats.campaign.status,
        "hot": [lead.call_id for lead in hot],
        "warm": [lead.call_id for lead in warm],
        "hot_leads": stats.funnel.hot_leads.count,
    }))
"""


@pytest.mark.parametrize("version", ["0.3.0", "0.4.0"])
def test_older_sdks_read_statistics_strictly(
    client: Revox, deployment: Deployment, version: str
) -> None:
    sdk = SDK_ROOT / version
    if not (sdk / "revox").is_dir():
        pytest.fail(f"SDK {version} is not installed in {sdk}; run `make install`")
    campaign_id, calls = create_campaign(client, 3)
    launch(client, campaign_id, calls[:2])
    finish(deployment, calls[0], "human", 1, outcome="interested")
    finish(deployment, calls[1], "human", 2, outcome="requested_callback_later")
    done = subprocess.run(
        [sys.executable, "-c", OLDER_FLOW, deployment.base_url, deployment.key, campaign_id],
        env={**os.environ, "PYTHONPATH": str(sdk)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"SDK {version}:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "version": version,
        "status": "paused",  # launched calls: not a draft, even for SDK 0.3.0
        "hot": [calls[0]],
        "warm": [calls[1]],
        "hot_leads": 1,
    }
    # A campaign nobody launched is a draft to SDK 0.3.0 (0.4.0 has no draft).
    fresh, _ = create_campaign(client, 1)
    done = subprocess.run(
        [sys.executable, "-c", OLDER_FLOW, deployment.base_url, deployment.key, fresh],
        env={**os.environ, "PYTHONPATH": str(sdk)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"SDK {version}:\n{done.stdout}\n{done.stderr}"
    status = json.loads(done.stdout.strip().splitlines()[-1])["status"]
    assert status == ("draft" if version == "0.3.0" else "paused")
