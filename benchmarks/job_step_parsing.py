"""What an import job's steps spend reading their part of the payload (docs/storage.md#measured).

A 100,000-segment job (1,000 agents x 100 segments: reference data, then 50 chunks of 20 agents)
and the same padded with an ignored field per segment to 20 MiB. Before chunk blobs, every step
decoded and validated the whole payload (``parse_import``); now step 0 does that and writes one
blob per booking chunk (``chunk_blob``), and each booking step reads only its own (``read_chunk``).

Each part runs in a fresh process: CPU seconds by ``time.process_time`` (mean over the 50 chunks
for a booking step), then the same again under ``tracemalloc`` for the peak of Python's
allocations while it runs (the largest chunk's, for booking steps); and the bytes the step
downloads (or, for step 0, writes).

``python -m benchmarks job_step_parsing``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
PARTS = {
    "whole payload (every step before; step 0 now)": "whole",
    "step 0's chunk blobs, serialised (now)": "write",
    "one booking step's chunk (now)": "chunk",
}


def _body(padded: bool) -> bytes:
    sys.path.insert(0, str(ROOT))
    from benchmarks.import_memory import SIZE
    from samples.schedules import generate

    document = generate.schedule(agents=1000, segments_per_agent=100)
    raw = json.dumps(document, separators=(",", ":")).encode()
    if padded:
        pad = (SIZE - len(raw)) // 100_000 - 12
        for agent in document["agents"]:
            for segment in agent["segments"]:
                segment["notes"] = "n" * pad
    return json.dumps(document, separators=(",", ":")).encode()


def measure(part: str, padded: bool) -> dict[str, float]:
    """In the child process: one part, timed untraced, then run again under tracemalloc for its peak."""
    body = _body(padded)
    from integration.schedules.job_plan import chunk_blob, plan_for, read_chunk
    from integration.schedules.payload import parse_import

    schedule = parse_import(body)
    steps = plan_for(schedule)
    chunks = [chunk_blob(schedule, step) for step in steps[1:]]
    if part != "write":
        del schedule

    def once() -> tuple[int, int]:
        """Runs and bytes read (or written) per run."""
        if part == "whole":
            parse_import(body)
            return 1, len(body)
        if part == "write":
            return 1, sum(len(chunk_blob(schedule, step)) for step in steps[1:])
        for index, blob in enumerate(chunks, start=1):
            read_chunk(blob, index)
        return len(chunks), sum(len(b) for b in chunks) // len(chunks)

    started = time.process_time()
    runs, size = once()
    cpu = (time.process_time() - started) / runs
    tracemalloc.start()
    once()
    peak = tracemalloc.get_traced_memory()[1]  # the largest part: chunks are released one by one
    tracemalloc.stop()
    return {"cpu_s": cpu, "peak_mib": peak / MIB, "mib": size / MIB}


def run() -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    print(f"   {'payload':22s} {'part':48s} {'MiB':>6s} {'CPU s':>6s} {'peak MiB':>9s}")
    for padded in (False, True):
        for label, part in PARTS.items():
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.job_step_parsing", "--one", part, str(int(padded))],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            payload = "100,000 padded, 20 MiB" if padded else "100,000 segments"
            results.append({"payload": payload, "part": label, **result})
            print(f"   {payload:22s} {label:48s} {result['mib']:6.2f} {result['cpu_s']:6.3f} {result['peak_mib']:9.1f}")
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(sys.argv[2], sys.argv[3] == "1")))
    else:
        run()
