"""Fixtures for the browser suite: the in-process stack, one headless Chromium, a page per test.

The stack and the browser live for this package only (their settings are in os.environ while
the devhost runs); each test starts from the demo data and an empty sandbox. When a test fails,
its page and the timelines it looked at (or the windows it gave to ``failure_screenshots``) are
saved as screenshots under .pytest_cache/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.system.browser.chromium import chromium_context, playwright_driver, require_browser
from tests.system.browser.pages import TimelinePage
from tests.system.browser.stack import DemoStack, start_stack

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_TIMELINES = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="package")
def chromium() -> Path:
    return require_browser()


@pytest.fixture(scope="package")
def demo_stack(chromium: Path) -> Iterator[DemoStack]:
    stack = start_stack()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(demo_stack: DemoStack) -> DemoStack:
    """The stack with the demo data restored and the sandbox emptied."""
    demo_stack.reset()
    return demo_stack


@pytest.fixture(scope="package")
def playwright_session(chromium: Path) -> Iterator[Any]:
    """The one Playwright driver of this package; each browser of the package is launched from it."""
    with playwright_driver() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_session: Any, chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium_context(playwright_session, chromium, tmp_path_factory.mktemp("chromium-profile")) as context:
        context.set_default_timeout(10_000)
        yield context


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    page = browser.new_page()
    request.node.stash[_TIMELINES] = []
    try:
        yield page
    finally:
        report = request.node.stash.get(_REPORTS, {}).get("call")
        if report is not None and report.failed:
            _screenshots(request, browser, page, _screenshot_folder(request, tmp_path_factory))
        page.close()


@pytest.fixture
def failure_screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """A list the test's fixtures add pages to; when the test fails, each open one is saved as a screenshot."""
    pages: list[Any] = []
    yield pages
    report = request.node.stash.get(_REPORTS, {}).get("call")
    if report is None or not report.failed:
        return
    folder = _screenshot_folder(request, tmp_path_factory)
    stem = re.sub(r"[^\w.-]+", "_", request.node.name)
    saved: list[Any] = []
    for n, shot in enumerate(p for p in pages if not p.is_closed()):
        try:
            shot.screenshot(path=folder / f"{stem}-window-{n}.png", full_page=True)
            saved.append(folder / f"{stem}-window-{n}.png")
        except Exception as exc:  # noqa: BLE001 - a broken browser must not hide the test's own failure
            saved.append(f"(screenshot failed: {type(exc).__name__})")
    _report_screenshots(request, saved)


def _screenshot_folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("browser-screenshots") if cache is not None else tmp_path_factory.mktemp("shots")


def _report_screenshots(request: pytest.FixtureRequest, saved: list[Any]) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\nscreenshots of {request.node.nodeid}: " + ", ".join(map(str, saved)))


@pytest.fixture
def timeline(page: Any, stack: DemoStack, request: pytest.FixtureRequest) -> Callable[[str, str], TimelinePage]:
    """Open a record's timeline in the test's page (and remember it for a failure screenshot)."""

    def open_timeline(entity_set: str, record_id: str) -> TimelinePage:
        url = stack.timeline_url(entity_set, record_id)
        request.node.stash[_TIMELINES].append(url)
        return TimelinePage(page, url)

    return open_timeline


def _screenshots(request: pytest.FixtureRequest, browser: Any, page: Any, folder: Path) -> None:
    stem = re.sub(r"[^\w.-]+", "_", request.node.name)
    saved = []
    try:
        page.screenshot(path=folder / f"{stem}-page.png", full_page=True)
        saved.append(folder / f"{stem}-page.png")
        for n, url in enumerate(dict.fromkeys(request.node.stash[_TIMELINES])):
            shot = browser.new_page()
            try:
                shot.goto(url)
                shot.screenshot(path=folder / f"{stem}-timeline-{n}.png", full_page=True)
                saved.append(folder / f"{stem}-timeline-{n}.png")
            finally:
                shot.close()
    except Exception as exc:  # noqa: BLE001 - a broken browser must not hide the test's own failure
        saved.append(f"(screenshot failed: {type(exc).__name__})")
    _report_screenshots(request, saved)
