"""``python -m integration.schedules import FILE.json``: summary on stdout, documented exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from integration.schedules.__main__ import EXIT_INVALID, EXIT_OK, EXIT_PARTIAL, EXIT_SETTINGS, EXIT_USAGE, main
from tests.schedules.conftest import seed_users

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples/schedules/week-47.json"


def test_module_command_imports_the_sample(dataverse, app_settings):
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    done = subprocess.run([sys.executable, "-m", "integration.schedules", "import", str(SAMPLE)], cwd=ROOT,
                          capture_output=True, timeout=60)
    assert done.returncode == EXIT_OK, done.stderr
    assert json.loads(done.stdout)["created"] == 4
    assert done.stderr == b""  # no progress bar when stderr is not a terminal
    assert len(dataverse.rows("bookableresourcebookings")) == 4


def test_exit_codes(dataverse, app_settings, tmp_path, capsys, monkeypatch):
    seed_users(dataverse, ["s.lee@contoso.com"])
    assert main(["import", str(SAMPLE)]) == EXIT_PARTIAL
    assert json.loads(capsys.readouterr().out)["skipped"][0]["agentId"] == "iex-10234"

    bad = tmp_path / "bad.json"
    bad.write_text('{"source": "x", "agents": [{}]}')
    assert main(["import", str(bad)]) == EXIT_INVALID
    assert {e["path"] for e in json.loads(capsys.readouterr().out)["errors"]} >= {"$.agents[0].email"}

    assert main(["import", str(tmp_path / "missing.json")]) == EXIT_USAGE

    seed_users(dataverse, ["a.smith@contoso.com"])
    assert main(["import", str(SAMPLE)]) == EXIT_OK
    capsys.readouterr()

    monkeypatch.delenv("DATAVERSE_URL")
    assert main(["import", str(SAMPLE)]) == EXIT_SETTINGS
    assert json.loads(capsys.readouterr().out)["settings"] == ["DATAVERSE_URL"]
