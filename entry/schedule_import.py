"""``python -m entry.schedule_import FILE.json``: the schedule import as a command.

Settings come from the environment, as for the app, through the same composition root. A
progress bar goes to stderr when it is a terminal; one JSON document goes to stdout at the
end: the import summary, or the problem document the HTTP endpoint would have answered
(both use :func:`entry.problems.problem_for`). Exit codes:

0 imported, nothing skipped        4 imported, some agents or segments skipped
2 bad command line or unreadable file  5 Dataverse unavailable, throttling or timing out: run it again
3 invalid schedule (problems by JSON path)  6 settings missing or malformed
7 Dataverse refused a request      1 unexpected error
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from entry.composition_root import CompositionRoot
from entry.problems import problem_for
from integration.settings import SettingsError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INVALID, EXIT_PARTIAL, EXIT_UNAVAILABLE, EXIT_SETTINGS, EXIT_REJECTED = range(8)
_EXIT_BY_STATUS = {400: EXIT_INVALID, 413: EXIT_INVALID, 502: EXIT_REJECTED, 503: EXIT_UNAVAILABLE, 504: EXIT_UNAVAILABLE}


class ProgressBar:
    """A one-line bar on a terminal, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream, self._width, self._last = stream, width, 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = self._width * done // total if total else self._width
        self._stream.write(f"\r{phase:<16} [{'#' * filled}{'.' * (self._width - filled)}] {done}/{total}\x1b[K")
        self._stream.flush()

    def close(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the command; ``environ`` holds the settings (``os.environ`` when not given)."""
    parser = argparse.ArgumentParser(prog="python -m entry.schedule_import", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="the WEM schedule JSON file (the body of POST /api/schedules/import), or - for stdin")
    args = parser.parse_args(argv)

    try:
        body = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE

    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        summary, code = asyncio.run(_run(CompositionRoot(environ), body, bar))
    finally:
        if bar is not None:
            bar.close()
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return code


async def _run(root: CompositionRoot, body: bytes, bar: ProgressBar | None) -> tuple[dict[str, Any], int]:
    from integration.schedules.importer import import_from_body

    try:
        summary = await import_from_body(root.dependencies(), body, progress=bar)
    except Exception as error:  # noqa: BLE001 - answered as the HTTP endpoint answers it
        problem = problem_for(error)
        code = EXIT_SETTINGS if isinstance(error, SettingsError) else _EXIT_BY_STATUS.get(problem.status, EXIT_ERROR)
        return problem.document(), code
    finally:
        await root.aclose()
    return summary.model_dump(), EXIT_PARTIAL if summary.skipped else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
