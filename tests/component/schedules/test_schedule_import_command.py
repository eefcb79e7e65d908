"""``python -m entry.schedule_import FILE.json``: summary on stdout, documented exit codes."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
from types import SimpleNamespace

from entry.schedule_import import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_SETTINGS,
    EXIT_USAGE,
    ProgressBar,
    main,
)
from tests.component.schedules.importing import seed_users
from tests.support import ROOT

SAMPLE = ROOT / "samples/schedules/week-47.json"


def command_environment(app_settings: dict[str, str]) -> dict[str, str]:
    """The command's environment: this process's, with the app settings the test means."""
    return {**os.environ, **app_settings}


def test_module_command_imports_the_sample(dataverse, app_settings):
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    done = subprocess.run([sys.executable, "-m", "entry.schedule_import", str(SAMPLE)], cwd=ROOT,
                          env=command_environment(app_settings), capture_output=True, timeout=60)
    assert done.returncode == EXIT_OK, done.stderr
    assert json.loads(done.stdout)["created"] == 4
    assert done.stderr == b""  # no progress bar when stderr is not a terminal
    assert len(dataverse.rows("bookableresourcebookings")) == 4


def test_exit_codes(dataverse, app_settings, tmp_path, capsys):
    seed_users(dataverse, ["s.lee@contoso.com"])
    assert main([str(SAMPLE)], app_settings) == EXIT_PARTIAL
    assert json.loads(capsys.readouterr().out)["skipped"][0]["agentId"] == "iex-10234"

    bad = tmp_path / "bad.json"
    bad.write_text('{"source": "x", "agents": [{}]}')
    assert main([str(bad)], app_settings) == EXIT_INVALID
    assert {e["path"] for e in json.loads(capsys.readouterr().out)["errors"]} >= {"$.agents[0].email"}

    assert main([str(tmp_path / "missing.json")], app_settings) == EXIT_USAGE

    seed_users(dataverse, ["a.smith@contoso.com"])
    assert main([str(SAMPLE)], app_settings) == EXIT_OK
    capsys.readouterr()

    del app_settings["DATAVERSE_URL"]
    assert main([str(SAMPLE)], app_settings) == EXIT_SETTINGS
    assert json.loads(capsys.readouterr().out)["settings"] == ["DATAVERSE_URL"]


def drawn(frames: str) -> list[str]:
    """The bar's frames: each starts with a carriage return and ends by clearing the rest of the line."""
    return [frame.removesuffix("\x1b[K") for frame in frames.split("\r") if frame]


def test_progress_bar_draws_progress_and_ends_with_a_newline(monkeypatch):
    import entry.schedule_import as cli

    clock = [1000.0]
    monkeypatch.setattr(cli, "time", SimpleNamespace(monotonic=lambda: clock[0]))  # redraw limit on a fake clock
    out = io.StringIO()
    bar = ProgressBar(out, width=10)

    bar("writing", 0, 4)
    clock[0] += 1
    bar("writing", 2, 4)
    bar("writing", 3, 4)  # within 0.1 s of the last frame: skipped
    bar("writing", 4, 4)  # the last step is always drawn
    assert out.getvalue().endswith("\x1b[K")
    bar.close()

    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert drawn(text.removesuffix("\n")) == [
        "writing          [..........] 0/4",
        "writing          [#####.....] 2/4",
        "writing          [##########] 4/4",
    ]


def test_progress_bar_with_nothing_to_do_is_full():
    out = io.StringIO()
    bar = ProgressBar(out)
    bar("writing", 0, 0)
    bar.close()
    assert out.getvalue() == f"\r{'writing':<16} [{'#' * 30}] 0/0\x1b[K\n"


def test_module_command_draws_a_progress_bar_on_a_terminal(dataverse, app_settings):
    """stderr on a pseudo-terminal: the bar is drawn and ends with a newline; stdout keeps the JSON summary."""
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    controller, terminal = pty.openpty()
    process = None
    try:
        process = subprocess.Popen([sys.executable, "-m", "entry.schedule_import", str(SAMPLE)], cwd=ROOT,
                                   env=command_environment(app_settings), stdout=subprocess.PIPE, stderr=terminal)
        os.close(terminal)
        terminal = -1
        screen = b""
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            assert ready, "no output from the command within 60 s"
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the command exited and closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        stdout, _ = process.communicate(timeout=60)
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
        if process is not None and process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == EXIT_OK
    assert json.loads(stdout)["created"] == 4
    text = screen.decode()
    assert "reference data" in text and f"[{'#' * 30}] 4/4" in text, text
    assert text.endswith("\n"), repr(text[-40:])
