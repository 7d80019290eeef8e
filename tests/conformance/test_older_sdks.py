"""SDK 0.1.1-0.4.0, each in its own interpreter, against the same running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from revox import Revox

from tests.conformance.bodies import PHONE, wire
from tests.conformance.conftest import Deployment

SDK_ROOT = Path(__file__).resolve().parents[2] / ".sdk"
FLOW = Path(__file__).with_name("older_sdk_flow.py")
OLDER_VERSIONS = ["0.1.1", "0.2.0", "0.3.0", "0.4.0"]
MODERN_SLACK = {
    "channels": [{"id": "C0MODERN", "name": "modern"}, {"id": "C0OTHER", "name": None}],
    "connection_id": "conn_modern",
    "outcomes": ["interested", "none"],
    "template": "{{summary}}",
}


def run_flow(version: str, deployment: Deployment, modern_id: str, steps: str) -> dict[str, Any]:
    """Run ``older_sdk_flow.py`` with SDK ``version``; fail the test on a non-zero exit."""
    sdk = SDK_ROOT / version
    if not (sdk / "revox").is_dir():
        pytest.fail(f"SDK {version} is not installed in {sdk}; run `make install`")
    done = subprocess.run(
        [sys.executable, str(FLOW), deployment.base_url, deployment.legacy_key, modern_id, steps],
        env={**os.environ, "PYTHONPATH": str(sdk)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"SDK {version} flow failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"] == version, f"imported SDK {result['version']}, not {version}"
    assert result["failed"] == []
    return result


@pytest.fixture
def legacy_org(deployment: Deployment) -> Iterator[Revox]:
    """An SDK 0.5.0 client of the organization the older SDKs work in."""
    with Revox(
        api_key=deployment.legacy_key,
        base_url=deployment.base_url,
        max_retries=0,
        _strict_response_validation=True,
    ) as sdk:
        yield sdk


@pytest.mark.parametrize("version", OLDER_VERSIONS)
def test_older_sdk_flow(version: str, deployment: Deployment, legacy_org: Revox) -> None:
    modern = legacy_org.assistants.create(
        name="Modern",
        prompt="p",
        transfer_destinations=[{"label": "Front desk", "phone_number": PHONE}],
        human_transfer_mode="cold",
        slack=MODERN_SLACK,  # type: ignore[arg-type]
    ).assistant
    result = run_flow(version, deployment, modern.id, "account,own_flow,read_modern")

    # The older SDK's partial update of the modern assistant kept its 0.5.0 fields.
    touched = wire(legacy_org.assistants.retrieve(modern.id))
    assert touched["name"] == f"Touched by {version}"
    assert touched["transfer_destinations"] == [{"label": "Front desk", "phone_number": PHONE}]
    assert {k: touched["slack"][k] for k in MODERN_SLACK} == MODERN_SLACK

    # What the older SDK made reads back with SDK 0.5.0 too.
    if "clone" in result:
        twin = wire(legacy_org.assistants.retrieve(result["clone"]))
        assert twin["name"] == "Renamed"
        assert twin["transfer_destinations"][0]["phone_number"]
        assert twin["first_sentence_delay_ms"] == 800


def test_sdk_0_1_1_call_retry_config_without_days_gets_defaults(
    deployment: Deployment, legacy_org: Revox
) -> None:
    """0.1.1's call_retry_config has no allowed_days/call_twice_in_a_row: defaults fill them."""
    modern = legacy_org.assistants.create(name="Unused", prompt="p").assistant
    run_flow("0.1.1", deployment, modern.id, "retry_config_without_days")
