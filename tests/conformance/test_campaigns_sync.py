"""``client.campaigns`` (SDK 0.5.0, sync client, strict validation): every method but
``statistics``. A row's call carries a seeded finished attempt, so every field of a
campaign call is read back through the SDK's row types."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from revox import BadRequestError, ConflictError, NotFoundError, Revox

from tests.conformance.conftest import Deployment
from tests.conformance.test_calls_sync import ALWAYS, seed, update_call
from tests.conformance.test_errors import error_of

NUMBERS = [f"+1202555{n:04d}" for n in range(3000, 3010)]
NO_FILTERS: dict[str, Any] = {
    "assignee_ids": [],
    "directions": [],
    "outcomes": [],
    "results": [],
    "statuses": [],
}
PARIS_MONDAYS = {
    **ALWAYS,
    "allowed_days": ["monday"],
    "timezone": "Europe/Paris",
}


def contacts(count: int) -> list[dict[str, Any]]:
    return [
        {"to_phone_number": NUMBERS[i], "prompt_variables": {"first_name": f"Ada{i}"}}
        for i in range(count)
    ]


@pytest.fixture
def assistant_id(client: Revox) -> str:
    return client.assistants.create(
        name="Campaign agent",
        prompt="You call {{first_name}}.",
        call_retry_config=ALWAYS,  # type: ignore[arg-type]
    ).assistant.id


def test_create_retrieve_list_update(client: Revox, assistant_id: str) -> None:
    created = client.campaigns.create(
        assistant_id=assistant_id,
        name="Spring",
        contacts=contacts(3),  # type: ignore[arg-type]
        call_retry_config=PARIS_MONDAYS,  # type: ignore[arg-type]
        max_concurrent_calls=2,
    ).campaign
    assert created.status == "paused" and created.is_cancelled is False
    assert created.row_stats is not None and created.row_stats.not_launched == 3
    assert created.call_retry_config is not None
    assert created.call_retry_config.timezone == "Europe/Paris"
    assert created.max_concurrent_calls == 2
    assert created.created_by is not None and created.created_by.email == "owner@acme.test"
    same = client.campaigns.retrieve(created.id).campaign
    assert same.id == created.id and same.name == "Spring"
    assert created.id in [c.id for c in client.campaigns.list().campaigns]
    updated = client.campaigns.update(
        created.id, name="Summer", max_concurrent_calls=4, call_retry_config=None
    ).campaign
    assert updated.name == "Summer" and updated.max_concurrent_calls == 4
    assert updated.call_retry_config is None
    rows = client.campaigns.get_rows(created.id).rows
    assert [r.row_index for r in rows] == [0, 1, 2]
    call = rows[0].call
    assert call is not None and call.status == "not_launched"
    assert call.campaign is not None and call.campaign.name == "Summer"
    assert call.call_retry_config is not None
    assert call.call_retry_config.calling_windows[0].calling_window_end_time == "24:00"
    retrieved = client.call.retrieve(call.id).call
    assert retrieved.campaign is not None and retrieved.campaign.id == created.id
    found = client.call.search(
        campaign_ids=[created.id],
        assignee_ids=[],
        assistant_ids=[],
        directions=[],
        from_phone_numbers=[],
        outcomes=[],
        results=[],
        statuses=[],
        page=0,
        page_size=10,
    )
    assert found.total_count == 3


def test_launch_pause_resume_cancel(client: Revox, assistant_id: str) -> None:
    campaign = client.campaigns.create(
        assistant_id=assistant_id,
        name="Launch",
        contacts=contacts(4),  # type: ignore[arg-type]
    ).campaign
    ids = [r.call.id for r in client.campaigns.get_rows(campaign.id).rows if r.call]
    first = client.campaigns.launch(
        campaign.id,
        mode="ai_first",
        selection={"rows": {"mode": "only", "call_ids": ids[:2]}, "filters": NO_FILTERS},
    )
    assert first.launched == 2 and first.session is None
    assert (first.skipped.active, first.skipped.cancelled) == (0, 0)
    rest = client.campaigns.launch(
        campaign.id,
        mode="ai_first",
        selection={"rows": {"mode": "all_except", "call_ids": []}, "filters": NO_FILTERS},
        scheduled_at="2031-01-05T12:00:00Z",
    )
    assert rest.launched == 2 and rest.skipped.active == 2
    running = client.campaigns.retrieve(campaign.id).campaign
    assert running.status == "running"
    assert client.campaigns.pause(campaign.id).success is True
    assert client.campaigns.retrieve(campaign.id).campaign.status == "paused"
    with pytest.raises(ConflictError) as paused_twice:
        client.campaigns.pause(campaign.id)
    assert "cannot pause" in error_of(paused_twice.value)["message"]
    assert client.campaigns.resume(campaign.id).success is True
    statuses = {r.call.status for r in client.campaigns.get_rows(campaign.id).rows if r.call}
    assert statuses == {"queued_for_calling", "scheduled"}
    with pytest.raises(BadRequestError) as speed:
        client.campaigns.launch(
            campaign.id,
            mode="speed_dial",
            selection={"rows": {"mode": "all_except", "call_ids": []}, "filters": NO_FILTERS},
        )
    assert error_of(speed.value)["fields"][0]["path"] == "mode"
    assert client.campaigns.cancel(campaign.id).success is True
    cancelled = client.campaigns.retrieve(campaign.id).campaign
    assert cancelled.is_cancelled is True and cancelled.status == "completed"
    assert cancelled.row_stats is not None and cancelled.row_stats.skipped == 4
    with pytest.raises(ConflictError):
        client.campaigns.cancel(campaign.id)


def test_rows_with_a_finished_call_export_and_delete(
    client: Revox, assistant_id: str, deployment: Deployment
) -> None:
    campaign = client.campaigns.create(
        assistant_id=assistant_id,
        name="Rows",
        contacts=contacts(5),  # type: ignore[arg-type]
    ).campaign
    rows = client.campaigns.get_rows(campaign.id).rows
    assert rows[0].call is not None
    done = rows[0].call.id
    user_id = client.users.retrieve().user.id
    seed(deployment, done, user_id, campaign_id=campaign.id)
    update_call(deployment, done, summary="Ada wants a demo.")
    again = client.campaigns.get_rows(campaign.id).rows
    finished = again[0].call
    assert finished is not None and finished.status == "completed"
    assert finished.last_call_attempt is not None
    assert finished.last_call_attempt.result == "human"
    page = client.campaigns.get_rows(
        campaign.id, extra_query={"page": 1, "page_size": 2, "statuses": "not_launched"}
    )
    assert [r.row_index for r in page.rows] == [3, 4]
    stats = client.campaigns.retrieve(campaign.id).campaign
    assert stats.funnel_stats is not None and stats.funnel_stats.hot == 1
    exported = client.campaigns.export_rows(campaign.id)
    assert exported.filename.endswith(".csv")
    table = list(csv.DictReader(io.StringIO(exported.csv)))
    assert len(table) == 5
    assert table[0]["call_status"] == "completed" and table[0]["summary"] == "Ada wants a demo."
    assert table[0]["first_name"] == "Ada0" and table[4]["call_status"] == "not_launched"
    assert client.campaigns.delete(campaign.id).success is True
    with pytest.raises(NotFoundError):
        client.campaigns.retrieve(campaign.id)
    retrieved = client.call.retrieve(done).call
    assert retrieved.campaign is not None and retrieved.campaign.name == "Rows"


def test_errors(client: Revox, other_client: Revox, assistant_id: str) -> None:
    bad = contacts(4)
    bad[1]["to_phone_number"] = "nope"
    bad[2]["prompt_variables"] = {}
    bad[3]["to_phone_number"] = NUMBERS[0]
    with pytest.raises(BadRequestError) as invalid:
        client.campaigns.create(
            assistant_id=assistant_id,
            name="Bad",
            contacts=bad,  # type: ignore[arg-type]
        )
    error = error_of(invalid.value)
    assert [f["path"] for f in error["fields"]] == [
        "contacts[1].to_phone_number",
        "contacts[2].prompt_variables.first_name",
        "contacts[3].to_phone_number",
    ]
    assert "Bad" not in [c.name for c in client.campaigns.list().campaigns]
    campaign = client.campaigns.create(
        assistant_id=assistant_id,
        name="Mine",
        contacts=contacts(1),  # type: ignore[arg-type]
    ).campaign
    with pytest.raises(NotFoundError):
        other_client.campaigns.retrieve(campaign.id)
    with pytest.raises(NotFoundError):
        other_client.campaigns.get_rows(campaign.id)
    with pytest.raises(NotFoundError):
        client.campaigns.retrieve("does-not-exist")
    with pytest.raises(ConflictError):
        client.campaigns.resume(campaign.id)
