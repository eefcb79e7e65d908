"""``python -m emulators.booking --port 5556 [--api-key K] [--webhook-url URL] [--webhook-secret whsec_...]``."""

from __future__ import annotations

import argparse
import threading

from .sandbox import BookingSandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.booking", description=__doc__)
    parser.add_argument("--port", type=int, default=5556)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--webhook-url", default=None, help="the app's /api/webhooks/appointments URL")
    parser.add_argument("--webhook-secret", default=None, help="whsec_<base64>; a random one is printed when omitted")
    args = parser.parse_args(argv)
    sandbox = BookingSandbox(args.api_key, args.webhook_url, args.webhook_secret, port=args.port).start()
    print(f"booking sandbox on {sandbox.url}")
    print(f"  BOOKING_API_URL={sandbox.api_url}")
    print(f"  BOOKING_REDIRECT_URL={sandbox.redirect_template()}")
    if args.webhook_secret is None:
        print(f"  BOOKING_WEBHOOK_SECRET={sandbox.webhook_secret}")
    print(f"  webhooks -> {sandbox.webhook_url or '(none: set --webhook-url or POST /_sandbox/config)'}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()

