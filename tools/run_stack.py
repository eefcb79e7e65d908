"""`make run`: the whole product on loopback, stopped together with Ctrl-C.

Starts the Dataverse emulator (demo data, kept in .run/dataverse.json), the booking sandbox
(webhooks signed with the app's secret and sent to the devhost) and the devhost serving
function_app.py with local.settings.json, waits until each answers, then prints what to
open and try. The app's service URLs are set in its environment (which wins over
local.settings.json), so it always talks to this stack's emulators.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.keys import load_or_create_keys  # noqa: E402
from devhost.local_settings import load_local_settings  # noqa: E402

LOOPBACK = "127.0.0.1"
DATAVERSE_API = "/api/data/v9.2"


@dataclass
class Service:
    name: str
    argv: list[str]
    port: int
    probe_path: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/run_stack.py", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7071, help="devhost port (default 7071)")
    parser.add_argument("--dataverse-port", type=int, default=5555)
    parser.add_argument("--booking-port", type=int, default=5556)
    parser.add_argument("--settings", type=Path, default=ROOT / "local.settings.json")
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run", help="emulator data and devhost keys")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for each service")
    return parser.parse_args(argv)


def ensure_local_settings(path: Path, example: Path = ROOT / "local.settings.json.example") -> bool:
    """Create local.settings.json from the example on first run; True when it was created."""
    if path.exists():
        return False
    shutil.copyfile(example, path)
    return True


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) == 0


def answers(url: str) -> int | None:
    """The HTTP status at ``url``, or None when nothing answers yet."""
    try:
        with urlopen(url, timeout=2) as resp:
            return resp.status
    except HTTPError as exc:
        return exc.code
    except (URLError, OSError):
        return None


def services(args: argparse.Namespace, values: dict[str, str]) -> list[Service]:
    python = sys.executable
    dataverse_url = f"http://{LOOPBACK}:{args.dataverse_port}"
    booking_url = f"http://{LOOPBACK}:{args.booking_port}"
    booking = [python, "-m", "emulators.booking", "--port", str(args.booking_port),
               "--webhook-url", f"http://{LOOPBACK}:{args.port}/api/webhooks/appointments"]
    if values.get("BOOKING_WEBHOOK_SECRET"):
        booking += ["--webhook-secret", values["BOOKING_WEBHOOK_SECRET"]]
    if values.get("BOOKING_API_KEY"):
        booking += ["--api-key", values["BOOKING_API_KEY"]]
    app_env = {
        "DATAVERSE_URL": dataverse_url,
        "DATAVERSE_AUTH": "none",
        "BOOKING_API_URL": f"{booking_url}/api",
        "BOOKING_REDIRECT_URL": f"{booking_url}/book?session={{sessionId}}",
    }
    return [
        Service("Dataverse emulator", [python, "-m", "emulators.dataverse", "--port", str(args.dataverse_port),
                                       "--data", str(args.run_dir / "dataverse.json"), "--seed-demo"],
                args.dataverse_port, f"{DATAVERSE_API}/", {}),
        Service("booking sandbox", booking, args.booking_port, "/", {}),
        Service("devhost", [python, "-m", "devhost", "--port", str(args.port), "--app-dir", str(ROOT),
                            "--settings", str(args.settings), "--keys", str(args.run_dir / "keys.json")],
                args.port, "/api/health", app_env),
    ]


def start(service: Service) -> None:
    env = {**os.environ, **service.env, "PYTHONPATH": str(ROOT)}
    # A session of its own: Ctrl-C reaches only this script, which then stops each child by its id.
    service.process = subprocess.Popen(service.argv, cwd=ROOT, env=env, start_new_session=True)


def wait_ready(service: Service, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert service.process is not None
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with status {service.process.returncode}")
        status = answers(service.url + service.probe_path)
        if status is not None:
            return status
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not answer on {service.url} within {timeout:.0f}s")


def stop_all(started: list[Service]) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    for service in reversed(started):
        process = service.process
        if process is None or process.poll() is not None:
            continue
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def demo_leads(dataverse_url: str) -> list[dict[str, str]]:
    try:
        with urlopen(f"{dataverse_url}{DATAVERSE_API}/leads?$select=leadid,fullname&$top=5", timeout=5) as resp:
            return json.load(resp).get("value", [])
    except (URLError, OSError, ValueError):
        return []


def hints(stack: list[Service], key: str) -> str:
    dataverse, booking, app = stack
    lines = [
        "",
        "The stack is up (Ctrl-C stops all of it):",
        f"  app health        {app.url}/api/health",
        f"  booking sandbox   {booking.url}/",
        f"  Dataverse data    {dataverse.url}/_emulator/",
        f"  function key      {key}   (from the devhost keys file; send as x-functions-key or ?code=)",
        "",
    ]
    leads = demo_leads(dataverse.url)
    if leads:
        lines.append("Demo leads: open the redirect URL, book a slot, then watch the lead's timeline:")
    for lead in leads:
        lead_id = lead.get("leadid", "")
        lines += [
            f"  {lead.get('fullname') or lead_id}",
            f"    book      {app.url}/api/booking-sessions/redirect?entity=lead&id={lead_id}&code={quote(key)}",
            f"    timeline  {dataverse.url}/_emulator/timeline/leads/{lead_id}",
        ]
    if not leads:
        lines.append(f"  (no leads found at {dataverse.url}{DATAVERSE_API}/leads)")
    samples = sorted((ROOT / "samples" / "schedules").glob("*.json"))
    sample = samples[0].relative_to(ROOT) if samples else Path("samples/schedules/<file>.json")
    lines += [
        "",
        "Import a WEM schedule:",
        f"  curl -sS -X POST -H 'x-functions-key: {key}' -H 'content-type: application/json' "
        f"--data-binary @{shlex.quote(str(sample))} {app.url}/api/schedules/import",
        "",
    ]
    return "\n".join(lines)


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM/SIGHUP (a closed terminal) stop the stack like Ctrl-C, never leaving children behind.
    # Re-arming SIGINT also matters when started in the background, where it arrives ignored and
    # the children would inherit the ignore.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    if ensure_local_settings(args.settings):
        print(f"created {args.settings} from local.settings.json.example")
    args.run_dir.mkdir(parents=True, exist_ok=True)
    values = load_local_settings(args.settings).values
    key = load_or_create_keys(args.run_dir / "keys.json").default_key
    stack = services(args, values)
    busy = [f"{s.name} port {s.port}" for s in stack if port_in_use(s.port)]
    if busy:
        print(f"already in use: {', '.join(busy)} (another `make run`?); nothing started", file=sys.stderr)
        return 1
    started: list[Service] = []
    try:
        for service in stack:
            start(service)
            started.append(service)
            status = wait_ready(service, args.timeout)
            if service.name == "devhost" and status != 200:
                print(f"warning: {service.url}/api/health answered {status}; check {args.settings}", file=sys.stderr)
        print(hints(stack, key), flush=True)
        while all(s.process is not None and s.process.poll() is None for s in started):
            time.sleep(0.5)
        gone = next(s for s in started if s.process is not None and s.process.poll() is not None)
        print(f"{gone.name} stopped (status {gone.process.returncode if gone.process else '?'}); stopping the rest",
              file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"run_stack: {exc}; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr)
        return 0
    finally:
        stop_all(started)


if __name__ == "__main__":
    sys.exit(main())
