"""Schedule import (docs/spec.md#24-post-apischedulesimport) against the Dataverse emulator with 20 ms per request.

Scenarios, same data for both importers: 200 agents, 10,000 committed segments (8 activity
types, 3 statuses, 1 plan) into an empty environment; the same payload again; then 5% of
segments moved. The bulk importer runs the full data; the naive one (docs/business-steps.md#2-wem-schedule-import literally,
``benchmarks/naive_importer.py``) runs a 500-segment sample and is extrapolated linearly
(it sends a fixed number of requests per segment), which the output says.

The emulator runs as its own process, so tracemalloc's peak here is the importer's own
memory (parsing, planning, client), not the emulator's rows. Memory is measured in separate
runs because tracemalloc slows Python down; the timed runs are not traced. A final run
imports 100,000 segments (no latency) to show the memory stays in the low hundreds of MB.

``python -m benchmarks schedule_import`` or ``python -m benchmarks.schedule_import [--no-100k]``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
LATENCY = 0.02
AGENTS, SEGMENTS_PER_AGENT = 200, 50
NAIVE_AGENTS = 10  # 500 segments
BIG_AGENTS, BIG_SEGMENTS_PER_AGENT = 2000, 50  # 100,000 segments


@dataclass
class Measure:
    scenario: str
    bookings: int
    requests: int
    writes: int
    seconds: float
    peak_mib: float | None = None
    extrapolated_from: int | None = None

    @property
    def requests_per_booking(self) -> float:
        return self.requests / self.bookings if self.bookings else 0.0


class EmulatorProcess:
    """``python -m emulators.dataverse`` on a free loopback port, driven through /_emulator/."""

    def __init__(self, *options: str) -> None:
        self.options = options

    def __enter__(self) -> EmulatorProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulators.dataverse", "--port", "0", *self.options], cwd=ROOT,
            stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()  # "Dataverse emulator on http://127.0.0.1:PORT (...)"
        self.url = line.split(" on ", 1)[1].split()[0]
        self.control = httpx.Client(base_url=f"{self.url}/_emulator/", timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.control.close()
        self.process.terminate()
        self.process.wait(timeout=10)

    def reset(self, latency: float, users: int) -> None:
        self.control.post("reset").raise_for_status()
        self.control.put("latency", json={"seconds": 0}).raise_for_status()
        from samples.schedules.generate import email

        for i in range(users):
            self.control.post("rows/systemusers", json={"internalemailaddress": email(i)}).raise_for_status()
        self.control.put("latency", json={"seconds": latency}).raise_for_status()

    def count(self, method: str | None = None) -> int:
        return self.control.get("count", params={"method": method} if method else {}).json()["count"]

    def writes(self) -> int:
        return sum(self.count(m) for m in ("POST", "PATCH", "PUT", "DELETE"))


async def _bulk(url: str, body: bytes) -> dict[str, Any]:
    from dataverse import DataverseClient
    from integration.schedules.importer import import_schedule
    from integration.schedules.payload import parse_import

    async with DataverseClient(url) as client:
        summary = await import_schedule(client, parse_import(body))
    return summary.model_dump()


async def _naive(url: str, document: dict[str, Any]) -> dict[str, int]:
    from benchmarks.naive_importer import naive_import
    from dataverse import DataverseClient

    async with DataverseClient(url) as client:
        return await naive_import(client, document)


def _measure(emu: EmulatorProcess, scenario: str, bookings: int, work, traced: bool = False) -> tuple[Measure, Any]:
    requests, writes = emu.count(), emu.writes()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    result = asyncio.run(work())
    seconds = time.perf_counter() - started
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return Measure(scenario, bookings, emu.count() - requests, emu.writes() - writes, seconds, peak), result


def run(big: bool | None = None) -> dict[str, Any]:
    if big is None:
        big = "--no-100k" not in sys.argv
    from samples.schedules import generate

    document = generate.schedule(AGENTS, SEGMENTS_PER_AGENT)
    total = AGENTS * SEGMENTS_PER_AGENT
    fresh_body = json.dumps(document).encode()
    moved_document = json.loads(fresh_body)
    moved = generate.move(moved_document)
    moved_body = json.dumps(moved_document).encode()
    sample = dict(document, agents=document["agents"][:NAIVE_AGENTS])
    sample_total = NAIVE_AGENTS * SEGMENTS_PER_AGENT
    results: list[Measure] = []

    with EmulatorProcess() as emu:
        emu.reset(LATENCY, AGENTS)
        fresh, summary = _measure(emu, "bulk: fresh import", total, lambda: _bulk(emu.url, fresh_body))
        assert summary["created"] == total, summary
        unchanged, summary = _measure(emu, "bulk: same payload again", total, lambda: _bulk(emu.url, fresh_body))
        assert summary["unchanged"] == total and unchanged.writes == 0, summary
        shifted, summary = _measure(emu, f"bulk: {moved} segments moved (5%)", total, lambda: _bulk(emu.url, moved_body))
        assert (summary["created"], summary["removed"]) == (moved, moved), summary
        results += [fresh, unchanged, shifted]

        # Peak memory comes from a second, traced run of each scenario (tracing slows Python down).
        emu.reset(LATENCY, AGENTS)
        for timed, body in ((fresh, fresh_body), (unchanged, fresh_body), (shifted, moved_body)):
            traced, _ = _measure(emu, timed.scenario, total, lambda body=body: _bulk(emu.url, body), True)
            timed.peak_mib = traced.peak_mib

        emu.reset(LATENCY, NAIVE_AGENTS)
        naive_fresh, out = _measure(emu, "naive: fresh import", sample_total, lambda: _naive(emu.url, sample))
        assert out["created"] == sample_total, out
        naive_again, out = _measure(emu, "naive: same payload again", sample_total, lambda: _naive(emu.url, sample))
        assert out["existing"] == sample_total, out
        emu.reset(LATENCY, NAIVE_AGENTS)
        for timed in (naive_fresh, naive_again):
            traced, _ = _measure(emu, timed.scenario, sample_total, lambda: _naive(emu.url, sample), True)
            timed.peak_mib = traced.peak_mib  # of the 500-segment sample: not extrapolated
        for m in (naive_fresh, naive_again):
            factor = total / sample_total
            m.extrapolated_from = m.bookings
            m.bookings, m.requests, m.writes = total, round(m.requests * factor), round(m.writes * factor)
            m.seconds *= factor
        results += [naive_fresh, naive_again]

        if big:
            big_document = generate.schedule(BIG_AGENTS, BIG_SEGMENTS_PER_AGENT)
            big_body = json.dumps(big_document).encode()
            del big_document
            emu.reset(0.0, BIG_AGENTS)
            big_run, summary = _measure(
                emu, "bulk: 100,000 segments, no latency (traced)", BIG_AGENTS * BIG_SEGMENTS_PER_AGENT,
                lambda: _bulk(emu.url, big_body), True,
            )
            assert summary["created"] == BIG_AGENTS * BIG_SEGMENTS_PER_AGENT, summary
            results.append(big_run)

    report = {
        "latency_ms": LATENCY * 1000,
        "results": [asdict(m) | {"requests_per_booking": round(m.requests_per_booking, 4)} for m in results],
        "ratios": {
            "fresh_requests_per_booking": round(fresh.requests_per_booking, 4),
            "unchanged_writes": unchanged.writes,
            "speedup_fresh_vs_naive": round(naive_fresh.seconds / fresh.seconds, 1),
            "speedup_unchanged_vs_naive": round(naive_again.seconds / unchanged.seconds, 1),
            "request_ratio_fresh_naive_over_bulk": round(naive_fresh.requests / fresh.requests, 1),
        },
    }
    _print(results, report["ratios"])
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "schedule_import.json").write_text(json.dumps(report, indent=2))
    return report


def _print(results: list[Measure], ratios: dict[str, Any]) -> None:
    print(f"{'scenario':<46} {'bookings':>8} {'requests':>8} {'req/bk':>7} {'writes':>7} {'seconds':>8} {'peak MiB':>8}")
    for m in results:
        peak = f"{m.peak_mib:.0f}" if m.peak_mib is not None else "-"
        note = f"  (extrapolated x{m.bookings // m.extrapolated_from} from {m.extrapolated_from})" if m.extrapolated_from else ""
        print(f"{m.scenario:<46} {m.bookings:>8} {m.requests:>8} {m.requests_per_booking:>7.4f} {m.writes:>7} "
              f"{m.seconds:>8.2f} {peak:>8}{note}")
    for name, value in ratios.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    run()
