"""``python -m entry.schedule_import FILE.json``: the schedule import as a command.

Settings come from the environment, as for the app, through the same composition root. A
progress bar goes to stderr when it is a terminal; one JSON document goes to stdout at the
end: the import summary, or the problem document the HTTP endpoint would have answered
(both use :func:`entry.problems.problem_for`).

With ``--job`` (needs ``AzureWebJobsStorage``) the file is validated and submitted as an import
job, which the app's queue-triggered function runs; the command follows the job's record with
the same bar until it ends and prints the job's status document. ``--follow JOBID`` follows a
job submitted before. Ctrl-C stops following, never the job. Exit codes:

0 imported, nothing skipped        4 imported, some agents or segments skipped
2 bad command line or unreadable file  5 Dataverse unavailable, throttling or timing out: run it again
3 invalid schedule (problems by JSON path)  6 settings missing or malformed
7 Dataverse refused a request      1 unexpected error
8 stopped following a job (it goes on; follow it again with --follow JOBID)
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

(EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INVALID, EXIT_PARTIAL, EXIT_UNAVAILABLE, EXIT_SETTINGS, EXIT_REJECTED,
 EXIT_STOPPED_FOLLOWING) = range(9)
FOLLOW_INTERVAL_SECONDS = 1.0
"""How often a followed job's record is read (one table read, plus one blob read at the end)."""
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
    parser.add_argument("file", nargs="?",
                        help="the WEM schedule JSON file (the body of POST /api/schedules/import), or - for stdin")
    parser.add_argument("--job", action="store_true", help="submit it as an import job and follow the job")
    parser.add_argument("--follow", metavar="JOBID", help="follow an import job submitted before")
    args = parser.parse_args(argv)
    if (args.file is None) == (args.follow is None) or (args.job and args.follow):
        parser.print_usage(sys.stderr)
        print("give either FILE (with or without --job) or --follow JOBID", file=sys.stderr)
        return EXIT_USAGE

    body = b""
    if args.file is not None:
        try:
            body = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
        except OSError as error:
            print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
            return EXIT_USAGE

    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    root = CompositionRoot(environ)
    try:
        if args.job or args.follow:
            summary, code = asyncio.run(_run_job(root, body, args.follow, bar))
        else:
            summary, code = asyncio.run(_run(root, body, bar))
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
        return _failure(error)
    finally:
        await root.aclose()
    return summary.model_dump(), EXIT_PARTIAL if summary.skipped else EXIT_OK


def _failure(error: Exception) -> tuple[dict[str, Any], int]:
    problem = problem_for(error)
    code = EXIT_SETTINGS if isinstance(error, SettingsError) else _EXIT_BY_STATUS.get(problem.status, EXIT_ERROR)
    return problem.document(), code


async def _run_job(
    root: CompositionRoot, body: bytes, job_id: str | None, bar: ProgressBar | None
) -> tuple[dict[str, Any], int]:
    """Submit (unless following ``job_id``), then follow the job's record until it ends or Ctrl-C."""
    from integration.schedules import jobs

    document: dict[str, Any] = {}
    try:
        dependencies = root.dependencies()
        if not jobs.jobs_on(dependencies):
            return {"title": "Import jobs are off", "detail": jobs.JOBS_OFF}, EXIT_SETTINGS
        if job_id is None:
            submitted = await jobs.submit(dependencies, body)
            job_id = submitted.job_id
            print(f"import job {job_id} queued", file=sys.stderr)
        while True:
            document = await jobs.status(dependencies, job_id)
            if bar is not None:
                bar(document["status"], document["progress"]["done"], document["progress"]["segments"])
            if document["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(FOLLOW_INTERVAL_SECONDS)
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"stopped following import job {job_id}; it goes on", file=sys.stderr)
        return document or {"jobId": job_id}, EXIT_STOPPED_FOLLOWING
    except Exception as error:  # noqa: BLE001 - answered as the HTTP endpoint answers it
        return _failure(error)
    finally:
        await root.aclose()
    if document["status"] == "failed":
        status = document.get("error", {}).get("status")
        return document, _EXIT_BY_STATUS.get(status, EXIT_ERROR) if isinstance(status, int) else EXIT_ERROR
    return document, EXIT_PARTIAL if document.get("result", {}).get("skipped") else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
