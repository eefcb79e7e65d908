"""``python -m devhost [--port 7071] [--settings local.settings.json] [--app-dir .] [--keys FILE]
[--queue-visibility-seconds N]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from devhost.functions import AppLoadError
from devhost.keys import KeysError, load_or_create_keys
from devhost.local_settings import LocalSettingsError
from devhost.queue_options import QueueOptionsError
from devhost.server import serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--port", type=int, default=None,
                        help="port on 127.0.0.1 (default: Host.LocalHttpPort of the settings file, else 7071)")
    parser.add_argument("--app-dir", type=Path, default=Path("."), help="folder with function_app.py and host.json")
    parser.add_argument("--settings", type=Path, default=None,
                        help="local.settings.json to read (default: the one in the app folder)")
    parser.add_argument("--keys", type=Path, default=None,
                        help="function keys file (default: <app-dir>/.run/keys.json, created when missing)")
    parser.add_argument("--queue-visibility-seconds", type=int, default=None, metavar="N",
                        help="hide received queue messages for N seconds (1-600) instead of the host's 10 minutes, "
                             "renewed every N/2 s; overrides DEVHOST_QUEUE_VISIBILITY_SECONDS")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and OData query strings can carry emails.
    # The azure SDK's HTTP logging policy logs every storage request (URL and headers) at INFO.
    for transport in ("httpx", "httpcore", "azure"):
        logging.getLogger(transport).setLevel(logging.WARNING)
    app_dir = args.app_dir.resolve()
    try:
        keys = load_or_create_keys(args.keys or app_dir / ".run" / "keys.json")
        return serve(app_dir, args.settings or app_dir / "local.settings.json", keys, args.port,
                     args.queue_visibility_seconds)
    except (AppLoadError, KeysError, LocalSettingsError, QueueOptionsError) as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly
        return 0


if __name__ == "__main__":
    sys.exit(main())
