"""Fails the test run when any log record of the session holds personal data or a secret (docs/spec.md#2-http-api).

Every record of the whole session (root logger, DEBUG and up, every thread) is scanned as it
is emitted: its message, its exception text and its stack. What counts as a leak: an email
address, a phone number, a Standard Webhooks secret, a bearer token, a function key in a URL,
any secret the suites use (collected from the test sources) or registered at run time with
:func:`register_secret`, and the personal names the suites use. Only leaks are kept, so the
cost is one regex pass per record.

Records of the emulators and the sandbox are not scanned: they are test instruments standing
in for Dataverse and the booking system, which hold personal data by design. The devhost is
scanned (it stands in for the Functions host, whose logs reach the operator).

Register in tests/conftest.py:  ``pytest_plugins = ("tests.log_privacy_plugin",)``
or for one run:                 ``python -m pytest -p tests.log_privacy_plugin``
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
NOT_SCANNED = ("emulators",)
"""Logger namespaces of the test instruments (see the module docstring)."""

PERSONAL_NAMES = (
    "Ana", "Diaz", "O'Brien", "Alex Smith", "Sam Lee", "Ada Advisor", "Carla", "Mallory", "Zoë O'Neil",
)
"""Customer and agent names used by the suites (tests/component/appointments, tests/component/schedules, samples/)."""

PATTERNS = {
    "email": re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    "phone": re.compile(r"\+\d[\d ()-]{6,}\d"),
    "webhook secret": re.compile(r"whsec_[A-Za-z0-9+/=]{4,}"),
    "bearer token": re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    "function key in a URL": re.compile(r"[?&]code=[^&\s]{8,}"),
    "generated agent name": re.compile(r"\bAgent \d{4}\b"),
}
_SECRET_IN_SOURCE = re.compile(
    r"""(?:API_KEY|SECRET|api_key|password|secret)\w*\s*=\s*["']([^"'\s]{8,})["']|["'](whsec_[A-Za-z0-9+/=]+)["']"""
)


@dataclass(frozen=True)
class Leak:
    logger: str
    level: str
    kind: str
    excerpt: str
    test: str

    def __str__(self) -> str:
        return f"{self.test}: {self.level} {self.logger}: {self.kind} in {self.excerpt!r}"


def secrets_in_sources(root: Path = TESTS) -> set[str]:
    """API keys and webhook secrets written in the test sources."""
    found: set[str] = set()
    for path in root.rglob("*.py"):
        for match in _SECRET_IN_SOURCE.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.add(match.group(1) or match.group(2))
    return found


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write for the record: message, exception and stack."""
    try:
        parts = [record.getMessage()]
    except Exception:  # noqa: BLE001 - a malformed record is still scanned by its raw parts
        parts = [str(record.msg), repr(record.args)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def _redact(text: str, start: int, end: int) -> str:
    """The context of a finding with the finding itself masked, so the report does not leak it again."""
    found = text[start:end]
    masked = found[:2] + "*" * max(0, len(found) - 2)
    return (text[max(0, start - 40):start] + masked + text[end:end + 40]).replace("\n", " ")


class LeakScanner:
    """Finds personal data and secrets in log records."""

    def __init__(self, secrets: Iterable[str] = (), names: Iterable[str] = PERSONAL_NAMES) -> None:
        self.patterns = dict(PATTERNS)
        self.patterns["personal name"] = _any_of(names, words=True)
        self._secrets: set[str] = set()
        self.add_secrets(secrets)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Exact values to look for; a webhook secret's key part counts without its ``whsec_`` prefix too."""
        for value in values:
            if value:
                self._secrets.add(value)
                if value.startswith("whsec_") and len(value) > 14:
                    self._secrets.add(value[len("whsec_"):])
        self.patterns["secret"] = _any_of(self._secrets, words=False)

    def findings(self, record: logging.LogRecord) -> list[tuple[str, str]]:
        """``(kind, redacted excerpt)`` for each kind of leak in the record."""
        if record.name.split(".")[0] in NOT_SCANNED:
            return []
        text = record_text(record)
        found = []
        for kind, pattern in self.patterns.items():
            match = pattern.search(text)
            if match:
                found.append((kind, _redact(text, match.start(), match.end())))
        return found

    def leaks(self, records: Iterable[logging.LogRecord], test: str = "") -> list[Leak]:
        return [
            Leak(record.name, record.levelname, kind, excerpt, test)
            for record in records for kind, excerpt in self.findings(record)
        ]


def _any_of(values: Iterable[str], *, words: bool) -> re.Pattern[str]:
    alternatives = sorted((re.escape(v) for v in values), key=len, reverse=True)
    if not alternatives:
        return re.compile(r"(?!x)x")
    body = "|".join(alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)" if words else f"(?:{body})")


class LeakRecorder(logging.Handler):
    """A root handler that keeps only the leaks, tagged with the test that was running."""

    def __init__(self, scanner: LeakScanner) -> None:
        super().__init__(logging.DEBUG)
        self.scanner = scanner
        self.current_test = "(outside tests)"
        self.found: list[Leak] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.found.extend(self.scanner.leaks([record], self.current_test))


_recorder: LeakRecorder | None = None


def register_secret(value: str) -> None:
    """A secret made at run time (a DevHost's random function keys): its appearance in a log is a leak."""
    if _recorder is not None:
        _recorder.scanner.add_secrets([value])


def pytest_sessionstart(session: pytest.Session) -> None:
    global _recorder
    _recorder = LeakRecorder(LeakScanner(secrets_in_sources()))
    root = logging.getLogger()
    session.config.stash[_saved_level] = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(_recorder)


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    if _recorder is not None:
        _recorder.current_test = nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _recorder is None:
        return
    root = logging.getLogger()
    root.removeHandler(_recorder)
    root.setLevel(session.config.stash.get(_saved_level, logging.WARNING))
    if _recorder.found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _recorder is None or not _recorder.found:
        return
    terminalreporter.section("personal data or secrets in logs", red=True)
    for leak in _recorder.found[:50]:
        terminalreporter.line(str(leak))
    if len(_recorder.found) > 50:
        terminalreporter.line(f"... and {len(_recorder.found) - 50} more")
    terminalreporter.line(f"{len(_recorder.found)} log record(s) leak personal data or secrets: the run fails.")


_saved_level = pytest.StashKey[int]()
