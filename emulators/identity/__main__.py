"""``python -m emulators.identity --port P [--tenant ID] [--cert-dir DIR] [--token-lifetime S] [--azure-storage]``."""

from __future__ import annotations

import argparse
import signal

from .stand_in import IdentityStandIn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.identity", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--tenant", default=None, help="home tenant id (a GUID; random when omitted)")
    parser.add_argument("--cert-dir", default=None, help="where to write ca.pem and the server certificate")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="access token lifetime in seconds")
    parser.add_argument("--azure-storage", action="store_true",
                        help="register Azure Storage (https://storage.azure.com; v1 tokens with Entra ID's issuer)")
    args = parser.parse_args(argv)
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)  # the server thread inherits the mask; main waits below
    stand_in = IdentityStandIn(tenant_id=args.tenant, token_lifetime=args.token_lifetime, port=args.port,
                               cert_dir=args.cert_dir).start()
    if args.azure_storage:
        stand_in.add_azure_storage()
    print(f"Identity stand-in on {stand_in.url} (CA certificate: {stand_in.ca_path})", flush=True)
    print(f"  tenant {stand_in.tenant_id}; authority {stand_in.authority()}", flush=True)
    print(f"  IDENTITY_ENDPOINT={stand_in.identity_endpoint}", flush=True)
    print(f"  IDENTITY_HEADER={stand_in.identity_header}", flush=True)
    print(f"  controls under {stand_in.url}/_identity/ (docs/identity-stand-in.md)", flush=True)
    signal.sigwait(stopping)
    stand_in.stop()


if __name__ == "__main__":
    main()
