"""Cold start: time to ``import function_app`` minus time to ``import azure.functions``.

Each import runs in a fresh interpreter (nothing cached in ``sys.modules``), several times,
alternating the two so load on a shared machine hits both alike, and the medians are
compared; the difference is what the app itself adds to a cold start.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 11
TARGET_MS = 100.0

_TIMED_IMPORT = (
    "import sys, time; sys.path.insert(0, {root!r}); t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t)"
)
_LOADED = (
    "import sys; sys.path.insert(0, {root!r}); before = set(sys.modules); import function_app; "
    "print(' '.join(sorted({{m.split('.')[0] for m in set(sys.modules) - before}} - set(sys.stdlib_module_names))))"
)


def import_seconds(module: str) -> float:
    code = _TIMED_IMPORT.format(root=str(ROOT), module=module)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def third_party_modules() -> list[str]:
    code = _LOADED.format(root=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


def run() -> dict[str, float]:
    import_seconds("function_app")  # warm the OS file cache and byte-code once
    pairs = [(import_seconds("azure.functions"), import_seconds("function_app")) for _ in range(RUNS)]
    base = statistics.median(b for b, _ in pairs)
    app = statistics.median(a for _, a in pairs)
    added_ms = (app - base) * 1000
    print(f"   import azure.functions: {base * 1000:7.1f} ms (median of {RUNS})")
    print(f"   import function_app:    {app * 1000:7.1f} ms (median of {RUNS})")
    print(f"   added by the app:       {added_ms:7.1f} ms (target < {TARGET_MS:.0f} ms: {'ok' if added_ms < TARGET_MS else 'OVER'})")
    print(f"   non-stdlib top-level packages loaded: {', '.join(third_party_modules())}")
    return {"azure_functions_ms": base * 1000, "function_app_ms": app * 1000, "added_ms": added_ms}
