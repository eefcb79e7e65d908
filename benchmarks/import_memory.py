"""Peak memory of parsing and validating a schedule import body at the 20 MiB limit.

Each shape is measured in a fresh process: the body is built, the import modules loaded, the
kernel's peak-RSS mark reset (``/proc/self/clear_refs``), then ``parse_import(body)`` runs;
the figure is the peak resident set above what the process held just before, as a multiple
of the body's size. The shapes are the most expensive ones found: many tiny objects or
arrays, short strings and floats (each a Python object far larger than its JSON text),
everything at the container and value bounds, and the largest valid imports.

``python -m benchmarks import_memory`` (Linux: needs ``/proc``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
SIZE = 20 * MIB - 64
LIMIT_RATIO = 8.0


def _fill(head: bytes, unit: bytes, tail: bytes, count: int | None = None, filler: bool = False) -> bytes:
    """``head`` + ``unit`` repeated (``count`` times, or up to the size) + ``tail``; with ``filler``
    the rest up to the size is one long string member, which costs about its own size."""
    if count is None:
        count = (SIZE - len(head) - len(tail)) // len(unit)
    body = head + unit * count + tail
    if filler:
        pad = SIZE - len(body) - len(b',"filler":""')
        body = body[:-1] + b',"filler":"' + b"f" * pad + b'"}'
    return body


def _valid(padded: bool, broken: bool = False) -> bytes:
    sys.path.insert(0, str(ROOT))
    from samples.schedules import generate

    document = generate.schedule(agents=2000, segments_per_agent=50)
    raw = json.dumps(document, separators=(",", ":")).encode()
    segments = [s for a in document["agents"] for s in a["segments"]]
    pad = max(0, (SIZE - len(raw)) // len(segments) - 12) if padded else 0
    for segment in segments:
        if pad:
            segment["notes"] = "n" * pad
        if broken:
            segment["end"] = segment["start"]
    return json.dumps(document, separators=(",", ":")).encode()


ENVELOPE = b'{"source":"x","agents":[],"pad":['
SHAPES: dict[str, Callable[[], bytes]] = {
    "tiny objects as agents": lambda: _fill(b'{"source":"x","agents":[', b"{},", b"{}]}"),
    "tiny objects as segments": lambda: _fill(
        b'{"source":"x","agents":[{"agentId":"a","name":"n","email":"a@b.cd","segments":[', b"{},", b"{}]}]}"
    ),
    "empty arrays": lambda: _fill(ENVELOPE, b"[],", b"[]]}"),
    "floats": lambda: _fill(ENVELOPE, b"0.5,", b"0.5]}"),
    "short strings": lambda: _fill(ENVELOPE, b'"ab",', b'"ab"]}'),
    "objects at the container bound": lambda: _fill(
        ENVELOPE, b'{"a":0.5,"b":0.5,"c":0.5,"d":0.5},', b"{}]}", count=299_990, filler=True
    ),
    "floats at the value bound": lambda: _fill(ENVELOPE, b"0.5,", b"0]}", count=1_499_990, filler=True),
    "short strings at the value bound": lambda: _fill(ENVELOPE, b'"ab",', b'""]}', count=1_499_990, filler=True),
    "100,000 valid segments": lambda: _valid(padded=False),
    "100,000 valid segments, padded to 20 MiB": lambda: _valid(padded=True),
    "100,000 invalid segments, padded to 20 MiB": lambda: _valid(padded=True, broken=True),
}


def measure(name: str) -> dict[str, object]:
    """Run in the child process: build the body, reset the peak mark, parse, report."""
    sys.path.insert(0, str(ROOT))
    body = SHAPES[name]()
    from integration.errors import IntegrationError
    from integration.schedules.payload import parse_import

    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    try:
        parse_import(body)
        outcome = "valid"
    except IntegrationError as error:
        outcome = f"{error.status}"
    peak = _status("VmHWM") - before
    return {"shape": name, "body_mib": len(body) / MIB, "peak_mib": peak / MIB, "ratio": peak / len(body),
            "answer": outcome}


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


def run() -> list[dict[str, object]]:
    results = []
    print(f"   {'shape':45s} {'body MiB':>8s} {'peak MiB':>9s} {'x body':>7s}  answer")
    for name in SHAPES:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.import_memory", "--one", name],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"   {name:45s} {result['body_mib']:8.1f} {result['peak_mib']:9.1f} {result['ratio']:7.1f}  {result['answer']}")
    worst = max(results, key=lambda r: float(r["ratio"]))  # type: ignore[arg-type]
    print(f"   worst: {worst['shape']}, {worst['ratio']:.1f} x its size (limit {LIMIT_RATIO:.0f} x)")
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(sys.argv[2])))
    else:
        run()
