"""``python -m integration.schedules import FILE.json``: the schedule import as a command.

Settings come from the environment, as for the app. A progress bar goes to stderr when it
is a terminal; one JSON document goes to stdout at the end: the import summary, or the
problem answer the HTTP endpoint would have given. Exit codes:

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
from typing import Any, TextIO

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integration.schedules", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("import", help="import a WEM schedule file (JSON as in docs/spec.md#24-post-apischedulesimport)")
    run.add_argument("file", help="the schedule JSON file, or - for stdin")
    args = parser.parse_args(argv)

    try:
        body = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE

    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        summary, code = asyncio.run(_run(body, bar))
    finally:
        if bar is not None:
            bar.close()
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return code


async def _run(body: bytes, bar: ProgressBar | None) -> tuple[dict[str, Any], int]:
    from http_api.problems import answer_for
    from integration.clients import dataverse_client
    from integration.schedules.importer import import_schedule
    from integration.schedules.payload import parse_import
    from integration.settings import SettingsError, load_settings

    try:
        schedule = parse_import(body)
        client = dataverse_client(load_settings())
        try:
            summary = await import_schedule(client, schedule, progress=bar)
        finally:
            await client.aclose()
    except Exception as error:  # noqa: BLE001 - answered as the HTTP endpoint answers it
        answer = answer_for(error)
        code = EXIT_SETTINGS if isinstance(error, SettingsError) else _EXIT_BY_STATUS.get(answer.status_code, EXIT_ERROR)
        return json.loads(answer.get_body()), code
    return summary.model_dump(), EXIT_PARTIAL if summary.skipped else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
