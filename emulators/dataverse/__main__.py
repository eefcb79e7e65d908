"""`python -m emulators.dataverse --port 5555 [--data FILE] [--seed-demo] [--auth entra --authority URL]`:
the emulator as its own process."""

from __future__ import annotations

import argparse
import json
import signal
import threading

from emulators.dataverse.hosting.server import DataverseEmulator
from emulators.dataverse.model.persistence import DataFileError


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulators.dataverse", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5555, help="port (0 picks a free one)")
    parser.add_argument("--data", help="JSON file that keeps rows across restarts")
    parser.add_argument("--seed-demo", action="store_true", help="start with demo leads, contacts, agents, statuses")
    parser.add_argument(
        "--custom-columns",
        default='{"appointment": {"new_bookingversion": "string"}}',
        help='JSON {"<table>": {"<column>": "<type>"}} (default adds appointment.new_bookingversion)',
    )
    parser.add_argument(
        "--https", action="store_true", help="serve https with a generated CA and certificate (the CA path is printed)"
    )
    parser.add_argument("--cost-model", choices=("off", "standard"), default="off",
                        help="charge modelled server time and enforce service protection limits (docs/cost-model.md)")
    parser.add_argument("--time-compression", type=float, default=1.0, help="divide every modelled duration by this")
    parser.add_argument("--dop-hint", type=int, default=None, help="x-ms-dop-hint under the cost model")
    parser.add_argument(
        "--auth",
        choices=("none", "entra"),
        default="none",
        help="entra: require Entra ID bearer tokens and apply record-level security (default none)",
    )
    parser.add_argument("--authority", help="with --auth entra: https://host/<tenant id> whose tokens are accepted")
    parser.add_argument("--authority-ca", help="with --auth entra: CA certificate (PEM) of the authority's https")
    parser.add_argument("--resource", help="with --auth entra: the token audience (default: the emulator's URL)")
    args = parser.parse_args(argv)
    if args.auth == "entra" and not args.authority:
        parser.error("--auth entra needs --authority")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    try:
        emulator = DataverseEmulator(
            custom_columns=json.loads(args.custom_columns),
            data_file=args.data,
            seed_demo=args.seed_demo,
            https=args.https,
            cost_model=None if args.cost_model == "off" else args.cost_model,
            time_compression=args.time_compression,
            dop_hint=args.dop_hint,
            auth=args.auth,
            authority=args.authority,
            authority_ca=args.authority_ca,
            resource=args.resource,
        )
        emulator.start(args.host, args.port)
    except (DataFileError, ValueError) as exc:
        raise SystemExit(str(exc)) from None
    print(f"Dataverse emulator on {emulator.url} (API {emulator.api_url}, controls {emulator.url}/_emulator/)", flush=True)
    if emulator.auth == "entra":
        print(f"Bearer tokens required: authority {args.authority}, audience {emulator.resource_url}", flush=True)
    if emulator.https:
        print(f"Trust this CA certificate to reach it: {emulator.ca_path}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
