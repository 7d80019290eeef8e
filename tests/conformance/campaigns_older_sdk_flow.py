"""One older ``revox`` SDK's ``client.campaigns`` methods against a running server (not a
pytest module).

Run by ``test_campaigns_older_sdks.py`` as ``python campaigns_older_sdk_flow.py
CONFIG_JSON`` with ``PYTHONPATH=.sdk/<version>``, so ``import revox`` is that version.
``CONFIG_JSON`` gives ``base_url``, ``api_key`` and ``assistant_id`` (an assistant
every version can read, whose prompt uses ``{{first_name}}``). Every call uses strict
response validation; the last line of output is JSON with the steps run and failed.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

import revox
from revox import ConflictError, NotFoundError, Revox

VERSION = revox.__version__
WEEK = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ALWAYS = {
    "allowed_days": WEEK,
    "call_twice_in_a_row": False,
    "calling_windows": [
        {
            "calling_window_start_time": "00:00",
            "calling_window_end_time": "24:00",
            "retry_delay_seconds": 60,
        }
    ],
    "max_retry_attempts": 3,
}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(f"SDK {VERSION}: {message}")


def equal(actual: Any, expected: Any, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def contacts(prefix: int, count: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "to_phone_number": f"+1312555{prefix:02d}{i:02d}",
            "prompt_variables": {"first_name": f"Ada{i}"},
        }
        for i in range(count)
    ]


def create(client: Revox, config: dict[str, Any], prefix: int, **fields: Any) -> Any:
    return client.campaigns.create(  # type: ignore[call-arg]
        assistant_id=config["assistant_id"],
        name=f"SDK {VERSION} #{prefix}",
        contacts=contacts(prefix),  # type: ignore[arg-type]
        call_retry_config=ALWAYS,  # type: ignore[arg-type]
        **fields,
    ).campaign


def get_rows(client: Revox, campaign_id: str) -> Any:
    if VERSION == "0.1.1":  # paged, with its own filters
        return client.campaigns.get_rows(  # type: ignore[call-arg]
            campaign_id, page=0, page_size=50, result="all"
        )
    return client.campaigns.get_rows(campaign_id)


def read_everything(client: Revox, campaign_id: str, count: int) -> None:
    """retrieve, list, get_rows and export_rows, read strictly by this version's types."""
    equal(client.campaigns.retrieve(campaign_id).campaign.id, campaign_id, "retrieve")
    check(campaign_id in [c.id for c in client.campaigns.list().campaigns], "list has the campaign")
    rows = get_rows(client, campaign_id).rows
    equal([r.row_index for r in rows], list(range(count)), "row indexes")
    check(all(r.call is not None for r in rows), "every row has its call")
    exported = client.campaigns.export_rows(campaign_id)
    equal(len(exported.csv.strip().splitlines()), count + 1, "export lines")


def flow_0_1_1(client: Revox, config: dict[str, Any]) -> list[str]:
    # SDK 0.1.1 has no launch method: its campaigns are launched when created.
    campaign = create(client, config, 11)
    equal(campaign.status, "running", "status of a new campaign")
    read_everything(client, campaign.id, 3)
    page = get_rows(client, campaign.id)
    equal((page.page, page.page_size, page.total), (0, 50, 3), "0.1.1 paging fields")
    none = client.campaigns.get_rows(  # type: ignore[call-arg]
        campaign.id, page=0, page_size=50, result="human"
    )
    equal(none.rows, [], "rows whose result is human")
    check(client.campaigns.cancel(campaign.id).success, "cancel")
    check(client.campaigns.retrieve(campaign.id).campaign.is_cancelled, "is_cancelled")
    check(client.campaigns.delete(campaign.id).success, "delete")
    return ["create_launched", "read", "cancel", "delete"]


def flow_0_2_0(client: Revox, config: dict[str, Any]) -> list[str]:
    draft = create(client, config, 20, launch=False, type="regular")
    equal(draft.status, "draft", "a campaign not launched")
    equal(draft.type, "regular", "type")
    read_everything(client, draft.id, 3)
    launched = create(client, config, 21, launch=True, type="regular")
    equal(launched.status, "running", "a campaign launched on create")
    check(client.campaigns.cancel(launched.id).success, "cancel")
    check(client.campaigns.delete(draft.id).success, "delete")
    return ["create_draft", "read", "create_launched", "cancel", "delete"]


def flow_0_3_0(client: Revox, config: dict[str, Any]) -> list[str]:
    draft = create(
        client, config, 30, launch=False, type="regular", scheduled_at="2031-01-06T12:00:00Z"
    )
    equal(draft.status, "draft", "a campaign not launched")
    launched = client.campaigns.launch(draft.id).campaign
    equal(launched.status, "running", "status after the legacy launch")
    equal(launched.row_stats.pending if launched.row_stats else None, 3, "pending rows")
    rows = get_rows(client, draft.id).rows
    equal({r.call.scheduled_at for r in rows if r.call}, {"2031-01-06T12:00:00Z"}, "scheduled_at")
    try:
        client.campaigns.launch(draft.id)
        raise AssertionError("a second legacy launch was accepted")
    except ConflictError:
        pass
    check(client.campaigns.pause(draft.id).success, "pause")
    equal(client.campaigns.retrieve(draft.id).campaign.status, "paused", "after pause")
    check(client.campaigns.resume(draft.id).success, "resume")
    updated = client.campaigns.update(draft.id, name="Renamed", max_concurrent_calls=2).campaign
    equal((updated.name, updated.max_concurrent_calls), ("Renamed", 2), "update")
    read_everything(client, draft.id, 3)
    check(client.campaigns.cancel(draft.id).success, "cancel")
    check(client.campaigns.delete(draft.id).success, "delete")
    try:
        client.campaigns.retrieve(draft.id)
        raise AssertionError("a deleted campaign is still found")
    except NotFoundError:
        pass
    return ["create_draft", "legacy_launch", "pause_resume", "update", "read", "cancel"]


def flow_0_4_0(client: Revox, config: dict[str, Any]) -> list[str]:
    campaign = create(client, config, 40)
    equal(campaign.status, "paused", "a campaign not launched")
    read_everything(client, campaign.id, 3)
    try:
        client.campaigns.pause(campaign.id)
        raise AssertionError("pausing a campaign not launched was accepted")
    except ConflictError:
        pass
    updated = client.campaigns.update(campaign.id, name="Renamed").campaign
    equal(updated.name, "Renamed", "update")
    check(client.campaigns.cancel(campaign.id).success, "cancel")
    check(client.campaigns.delete(campaign.id).success, "delete")
    return ["create", "read", "pause_refused", "update", "cancel", "delete"]


FLOWS: dict[str, Callable[[Revox, dict[str, Any]], list[str]]] = {
    "0.1.1": flow_0_1_1,
    "0.2.0": flow_0_2_0,
    "0.3.0": flow_0_3_0,
    "0.4.0": flow_0_4_0,
}


def main() -> None:
    config = json.loads(sys.argv[1])
    failed: list[str] = []
    steps: list[str] = []
    with Revox(
        api_key=config["api_key"],
        base_url=config["base_url"],
        max_retries=0,
        _strict_response_validation=True,
    ) as client:
        try:
            steps = FLOWS[VERSION](client, config)
        except Exception:
            traceback.print_exc()
            failed.append(VERSION)
    print(json.dumps({"version": VERSION, "steps": steps, "failed": failed}))


if __name__ == "__main__":
    main()
