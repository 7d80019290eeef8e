"""``client.call`` of SDK 0.1.1-0.4.0, each in its own interpreter, against the same server.

Each version places calls (by id and with its own inline assistant), reads calls in
every status and with every attempt field through its own types (strictly), and runs
the methods it has: SDK 0.1.1's ``GET /call`` list; 0.3.0's search, export, phone
history, pause, resume and cancel.
"""

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

from tests.conformance.bodies import PHONE
from tests.conformance.conftest import Deployment
from tests.conformance.test_calls_sync import ALWAYS, seed, update_call
from tests.conformance.test_older_sdks import OLDER_VERSIONS, SDK_ROOT

FLOW = Path(__file__).with_name("calls_older_sdk_flow.py")
EXPECTED_STEPS = {
    "0.1.1": ["create", "read_seeded", "legacy_list"],
    "0.2.0": ["create", "read_seeded"],
    "0.3.0": ["create", "read_seeded", "modern_methods"],
    "0.4.0": ["create", "read_seeded", "modern_methods"],
}


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


def run_calls_flow(version: str, config: dict[str, Any]) -> dict[str, Any]:
    sdk = SDK_ROOT / version
    if not (sdk / "revox").is_dir():
        pytest.fail(f"SDK {version} is not installed in {sdk}; run `make install`")
    done = subprocess.run(
        [sys.executable, str(FLOW), json.dumps(config)],
        env={**os.environ, "PYTHONPATH": str(sdk)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"SDK {version} calls flow failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"] == version, f"imported SDK {result['version']}, not {version}"
    assert result["failed"] == []
    return result


@pytest.mark.parametrize("version", OLDER_VERSIONS)
def test_older_sdk_calls(version: str, deployment: Deployment, legacy_org: Revox) -> None:
    assistant_id = legacy_org.assistants.create(
        name=f"Calls for {version}",
        prompt="You call {{first_name}}.",
        call_retry_config=ALWAYS,  # type: ignore[arg-type]
    ).assistant.id
    user_id = legacy_org.users.retrieve().user.id

    def place() -> str:
        call = legacy_org.call.create(
            phone_number=PHONE, assistant_id=assistant_id, prompt_variables={"first_name": "Ada"}
        )
        return call.call.id

    seeded = {name: place() for name in ("finished", "paused", "post_processing", "not_launched")}
    seed(deployment, seeded["finished"], user_id)
    legacy_org.call.pause(seeded["paused"])
    update_call(deployment, seeded["post_processing"], status="post_processing")
    update_call(deployment, seeded["not_launched"], status="not_launched")

    config = {
        "base_url": deployment.base_url,
        "api_key": deployment.legacy_key,
        "assistant_id": assistant_id,
        "seeded": seeded,
    }
    result = run_calls_flow(version, config)
    assert result["steps"] == EXPECTED_STEPS[version]
