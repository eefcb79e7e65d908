"""DynamicsWebApi (npm `dynamics-web-api`, unpatched) against the emulator: one node process
per scenario file in js/ (node:test runs the file's tests in order), given the emulator's
https URL and its CA."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent / "js"
SCENARIOS = sorted(path.name for path in JS.glob("*.test.mjs"))
NODE_TIMEOUT = 120


def test_every_scenario_file_is_collected() -> None:
    assert {"records.test.mjs", "queries.test.mjs", "batch.test.mjs", "metadata.test.mjs", "errors.test.mjs"} <= set(
        SCENARIOS
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_dynamics_web_api(scenario: str, served) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required for the DynamicsWebApi conformance scenarios"
    assert (JS / "node_modules" / "dynamics-web-api").is_dir(), (
        "dynamics-web-api is not installed: run `make test` (it runs `npm ci` in tests/conformance/js)"
    )
    env = {
        **os.environ,
        "DATAVERSE_CONFORMANCE_URL": served.url,
        "NODE_EXTRA_CA_CERTS": str(served.ca_path),
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        [node, "--test-reporter=spec", scenario],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
    )
    if run.returncode != 0:
        pytest.fail(f"node {scenario} exited {run.returncode}\n{run.stdout}\n{run.stderr}", pytrace=False)
