"""Schedule imports at real Dataverse cost: the emulator's standard cost profile and limits.

The emulator runs as its own process with ``--cost-model standard --time-compression C``:
every request is held for its modelled server time divided by C, and the service protection
limits apply per 5-minute window (also divided by C). Wall times below are model seconds
(measured seconds × C), so they compare directly with the real service.

Scenarios: 10,000 and 100,000 segments (200 and 2,000 agents) imported into an empty
environment, then the same payload again (no writes expected). For each: wall time,
requests, 429s by code, and the FLOOR: the least wall time any client could reach moving
the same rows under the same profile, dop hint and limits (docs/cost-model.md):

    W = created × bulk-create-per-row + updated × bulk-update-per-row
        + deleted × batch-delete-per-part + read × read-per-row
    E = W + D × min(request bases)        (each of the D lanes sends at least one request)
    floor = max(E / D, (E − 1200) / 4, (requests − 6000) / 20)     D = min(dop hint, 52)

The floor ignores that an import must read before it writes, so the unchanged runs, which
are mostly reads and our own CPU, sit far above their sub-second floor; the fresh imports
are where the floor binds. The naive seed-001 importer runs a 50-segment sample under the
same model and is extrapolated linearly to 10,000 (it sends a fixed number of requests per
segment). Then the webhook path: deliveries/s and Dataverse requests per delivery.

``python -m benchmarks cost_model [--time-compression=C] [--no-100k]``; ends with one line
per scenario: ``<scenario>: wall/floor <ratio>``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIME_COMPRESSION = 2.0
SEGMENTS_PER_AGENT = 50
NAIVE_AGENTS = 1  # 50 segments, extrapolated to 10,000
WEBHOOK_DELIVERIES = 100


@dataclass
class Scenario:
    name: str
    bookings: int
    wall: float  # model seconds
    requests: int
    writes: int
    throttled: dict[str, int]
    floor: float
    floor_terms: dict[str, float]
    max_in_flight: int
    overrun: float  # model seconds the emulator's own CPU added beyond the modelled time, summed over requests
    extrapolated_from: int | None = None

    @property
    def ratio(self) -> float:
        return self.wall / self.floor if self.floor else float("inf")


def _option(name: str, default: float) -> float:
    """``--name=value`` (``python -m benchmarks`` takes every word without a dash for a module name)."""
    for arg in sys.argv:
        if arg.startswith(f"{name}="):
            return float(arg.split("=", 1)[1])
    return default


def _measure(emu: Any, compression: float, name: str, bookings: int, work: Any) -> tuple[Scenario, Any]:
    from emulators.dataverse.hosting.cost_model import CostProfile, Ledger, floor_seconds

    emu.control.put("cost-model", json={"profile": "standard", "time_compression": compression}).raise_for_status()
    writes = emu.writes()
    started = time.perf_counter()
    result = asyncio.run(work())
    wall = (time.perf_counter() - started) * compression
    state = emu.control.get("cost-model").json()
    ledger, profile = Ledger(**state["ledger"]), CostProfile(**state["profile"])
    terms = floor_seconds(ledger, profile)
    scenario = Scenario(name, bookings, wall, ledger.requests, emu.writes() - writes, ledger.throttled,
                        terms["floor"], {k: round(v, 2) for k, v in terms.items()}, ledger.max_in_flight,
                        ledger.overrun_seconds)
    return scenario, (result, ledger, profile)


def _extrapolate(sample: Scenario, ledger: Any, profile: Any, factor: int) -> Scenario:
    from emulators.dataverse.hosting.cost_model import Ledger, floor_seconds

    scaled = Ledger(requests=ledger.requests * factor, created=ledger.created * factor,
                    updated=ledger.updated * factor, deleted=ledger.deleted * factor, read=ledger.read * factor)
    terms = floor_seconds(scaled, profile)
    return Scenario(sample.name, sample.bookings * factor, sample.wall * factor, sample.requests * factor,
                    sample.writes * factor, sample.throttled, terms["floor"],
                    {k: round(v, 2) for k, v in terms.items()}, sample.max_in_flight, sample.overrun * factor,
                    sample.bookings)


def _imports(emu: Any, compression: float, agents: int, label: str) -> list[Scenario]:
    from benchmarks.schedule_import import _bulk
    from samples.schedules import generate

    total = agents * SEGMENTS_PER_AGENT
    body = json.dumps(generate.schedule(agents, SEGMENTS_PER_AGENT)).encode()
    emu.reset(0.0, agents)
    fresh, (summary, _, _) = _measure(emu, compression, f"{label} fresh", total, lambda: _bulk(emu.url, body))
    assert summary["created"] == total, summary
    again, (summary, _, _) = _measure(emu, compression, f"{label} unchanged", total, lambda: _bulk(emu.url, body))
    assert summary["unchanged"] == total and again.writes == 0, (summary, again.writes)
    return [fresh, again]


def _webhooks(compression: float) -> dict[str, Any]:
    from benchmarks import webhook_load

    result = webhook_load.run(WEBHOOK_DELIVERIES, cost_model="standard", time_compression=compression)
    return {"deliveries": result["deliveries"],
            "deliveries_per_model_second": round(result["deliveries_per_second"] / compression, 1),
            "dataverse_requests_per_delivery": result["dataverse_requests_per_delivery"]}


def run(big: bool | None = None, compression: float | None = None) -> dict[str, Any]:
    from benchmarks.schedule_import import EmulatorProcess, _naive
    from samples.schedules import generate

    if big is None:
        big = "--no-100k" not in sys.argv
    compression = compression or _option("--time-compression", TIME_COMPRESSION)
    scenarios: list[Scenario] = []
    with EmulatorProcess("--cost-model", "standard", "--time-compression", str(compression)) as emu:
        scenarios += _imports(emu, compression, 200, "10k")
        if big:
            scenarios += _imports(emu, compression, 2000, "100k")
        sample = generate.schedule(NAIVE_AGENTS, SEGMENTS_PER_AGENT)
        emu.reset(0.0, NAIVE_AGENTS)
        naive, (out, ledger, profile) = _measure(emu, compression, "naive 10k fresh", NAIVE_AGENTS * SEGMENTS_PER_AGENT,
                                                 lambda: _naive(emu.url, sample))
        assert out["created"] == NAIVE_AGENTS * SEGMENTS_PER_AGENT, out
        factor = 200 // NAIVE_AGENTS
        scenarios.append(_extrapolate(naive, ledger, profile, factor))
    webhooks = _webhooks(1.0)
    report = {"time_compression": compression, "scenarios": [asdict(s) | {"ratio": round(s.ratio, 3)} for s in scenarios],
              "webhooks": webhooks}
    _print(scenarios, webhooks, compression)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "cost_model.json").write_text(json.dumps(report, indent=2))
    return report


def _print(scenarios: list[Scenario], webhooks: dict[str, Any], compression: float) -> None:
    print(f"   standard profile, time compression ×{compression:g}; seconds are model seconds (measured × {compression:g})")
    print("   floor = max(E/D, (E-1200)/4, (requests-6000)/20); E = rows × cheapest per-row cost + D request bases")
    print(f"   {'scenario':<18} {'bookings':>8} {'wall s':>8} {'floor s':>8} {'ratio':>6} {'requests':>8} {'writes':>6} "
          f"{'429 req/exec/conc':>18} {'in flight':>9} {'emu overrun s':>13}")
    for s in scenarios:
        throttled = "/".join(str(s.throttled.get(c, 0)) for c in ("0x80072322", "0x80072321", "0x80072326"))
        note = f"  (sample of {s.extrapolated_from}, ×{s.bookings // s.extrapolated_from})" if s.extrapolated_from else ""
        print(f"   {s.name:<18} {s.bookings:>8} {s.wall:>8.1f} {s.floor:>8.2f} {s.ratio:>6.2f} {s.requests:>8} "
              f"{s.writes:>6} {throttled:>18} {s.max_in_flight:>9} {s.overrun:>13.1f}{note}")
    print(f"   webhooks ({webhooks['deliveries']} deliveries, model at ×1): {webhooks['deliveries_per_model_second']} "
          f"deliveries/s, {webhooks['dataverse_requests_per_delivery']} Dataverse requests per delivery")
    for s in scenarios:
        print(f"{s.name}: wall/floor {s.ratio:.2f}")


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    run()
