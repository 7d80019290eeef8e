"""``client.campaigns`` of SDK 0.1.1-0.4.0, each in its own interpreter, against the same
server: every method each version has, read strictly by its own types; SDK 0.3.0's
``create(launch=False)`` drafts and ``POST /campaigns/{id}/launch``; SDK 0.1.1's
campaigns launched on create (it has no launch method)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from revox import Revox

from tests.conformance.conftest import Deployment
from tests.conformance.test_calls_older_sdks import legacy_org  # noqa: F401 (fixture)
from tests.conformance.test_older_sdks import OLDER_VERSIONS, SDK_ROOT

FLOW = Path(__file__).with_name("campaigns_older_sdk_flow.py")
EXPECTED_STEPS = {
    "0.1.1": ["create_launched", "read", "cancel", "delete"],
    "0.2.0": ["create_draft", "read", "create_launched", "cancel", "delete"],
    "0.3.0": ["create_draft", "legacy_launch", "pause_resume", "update", "read", "cancel"],
    "0.4.0": ["create", "read", "pause_refused", "update", "cancel", "delete"],
}


@pytest.mark.parametrize("version", OLDER_VERSIONS)
def test_older_sdk_campaigns(
    version: str,
    deployment: Deployment,
    legacy_org: Revox,  # noqa: F811
) -> None:
    sdk = SDK_ROOT / version
    if not (sdk / "revox").is_dir():
        pytest.fail(f"SDK {version} is not installed in {sdk}; run `make install`")
    assistant_id = legacy_org.assistants.create(
        name=f"Campaigns for {version}", prompt="You call {{first_name}}."
    ).assistant.id
    config = {
        "base_url": deployment.base_url,
        "api_key": deployment.legacy_key,
        "assistant_id": assistant_id,
    }
    done = subprocess.run(
        [sys.executable, str(FLOW), json.dumps(config)],
        env={**os.environ, "PYTHONPATH": str(sdk)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"SDK {version} flow failed:\n{done.stdout}\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"] == version, f"imported SDK {result['version']}, not {version}"
    assert result["failed"] == [], done.stderr
    assert result["steps"] == EXPECTED_STEPS[version]
