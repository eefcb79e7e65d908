"""Run every benchmark module in this package (``benchmarks/<name>.py`` with a ``run()``).

``python -m benchmarks`` runs all; ``python -m benchmarks cold_start`` runs the ones named. With
more than one, each runs in its own interpreter, so what one leaves behind (objects the garbage
collector keeps scanning, imported modules, threads) cannot slow down or speed up the next.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def discover() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    names = [arg for arg in argv if not arg.startswith("-")] or discover()  # options are the modules' own
    options = [arg for arg in argv if arg.startswith("-")]
    if len(names) > 1:
        failed = sum(subprocess.run([sys.executable, "-m", "benchmarks", name, *options], cwd=ROOT).returncode != 0
                     for name in names)
        return 1 if failed else 0
    failed = 0
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        run = getattr(module, "run", None)
        if run is None:
            continue
        print(f"== {name}")
        started = time.perf_counter()
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed += 1
            print(f"   FAILED: {type(exc).__name__}: {exc}")
        print(f"   ({time.perf_counter() - started:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
