"""`make run`: the whole product on loopback, stopped together with Ctrl-C.

Starts the Entra ID stand-in (CA in .run/identity/), the Dataverse emulator checking its tokens
(demo data kept in .run/dataverse.json), the booking sandbox (webhooks signed with the app's
secret and sent to the devhost), Azurite as the app's storage account (over https, reached by the
app's managed identity through the AzureWebJobsStorage__* settings, no key; data kept in
.run/azurite, so delivery records and import jobs survive a restart of the stack) and
the devhost serving function_app.py with
local.settings.json, waits until each answers, registers the demo identities through the
stand-in's and the emulator's HTTP controls, then prints what to open and try. The app reaches
Dataverse and storage with its managed identity (App Service protocol, served by the stand-in) and serves
the session route to Entra ID users (SESSION_AUTH=entra); `--session-auth key` keeps the
function-key routes (redirect links) for the browser demo instead. The app's settings for the
stack are set in its environment (which wins over local.settings.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite"
sys.path.insert(0, str(ROOT))

from devhost.keys import load_or_create_keys  # noqa: E402
from devhost.local_settings import load_local_settings  # noqa: E402

LOOPBACK = "127.0.0.1"
DATAVERSE_API = "/api/data/v9.2"
# Fixed ids, so that users and registrations match the rows kept in .run/dataverse.json across restarts.
DEMO_TENANT = "7e1d0a2b-5c3f-4e8a-9b6d-00000000d3e0"
SESSION_API_CLIENT_ID = "7e1d0a2b-5c3f-4e8a-9b6d-0000000000a1"
SESSION_API_URI = "api://booking-sessions"
OWNER = {"username": "owner@contoso.example", "name": "Demo Owner", "oid": "7e1d0a2b-5c3f-4e8a-9b6d-0000000000b1"}
OUTSIDER = {"username": "outsider@contoso.example", "name": "Demo Outsider",
            "oid": "7e1d0a2b-5c3f-4e8a-9b6d-0000000000b2"}


@dataclass
class Service:
    name: str
    argv: list[str]
    port: int
    probe_path: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    ca_path: Path | None = None  # https with this CA when set
    also_ports: tuple[int, ...] = ()  # further ports that must answer before the service is ready
    stop_seconds: float = 5  # how long a Ctrl-C may take before SIGTERM

    @property
    def url(self) -> str:
        return f"{'https' if self.ca_path else 'http'}://{LOOPBACK}:{self.port}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/run_stack.py", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7071, help="devhost port (default 7071)")
    parser.add_argument("--dataverse-port", type=int, default=5555)
    parser.add_argument("--booking-port", type=int, default=5556)
    parser.add_argument("--identity-port", type=int, default=5557, help="Entra ID stand-in port (default 5557)")
    parser.add_argument("--session-auth", choices=["entra", "key"], default="entra",
                        help="entra: the session route takes users' tokens (default); key: function keys and "
                             "redirect links, for the browser demo")
    parser.add_argument("--azurite-port", type=int, default=10000,
                        help="Azurite's blob port; queue and table take the next two (default 10000-10002); "
                             "0, or a busy default, picks three free ports")
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


def port_free(port: int) -> bool:
    """Nothing holds ``port`` on loopback: no listener, and no client connection using it as its own
    end (which ``port_in_use`` cannot see, and which makes a server's bind fail all the same)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def azurite_ports(base: int) -> tuple[int, int, int]:
    """Blob, queue and table ports: ``base`` and the next two when all are free, else three free ports.

    The three free ports come from the system (bind to port 0), as a test's free ports do. Linux
    gives those odd numbers and client connections even ones, so an even port next to a free one
    (``base + 1`` for an odd ``base``) is where a busy machine's connections land.
    """
    if base and all(port_free(p) for p in (base, base + 1, base + 2)):
        return base, base + 1, base + 2
    sockets = [socket.socket() for _ in range(3)]
    try:
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        blob, queue, table = (sock.getsockname()[1] for sock in sockets)
        return blob, queue, table
    finally:
        for sock in sockets:
            sock.close()


def storage_service_uris(blob: int, queue: int, table: int) -> dict[str, str]:
    """Azurite's three service URLs on these ports (https: it checks bearer tokens over https only)."""
    from storage_client.connection import DEVELOPMENT_ACCOUNT

    return {service: f"https://{LOOPBACK}:{port}/{DEVELOPMENT_ACCOUNT}"
            for service, port in (("blob", blob), ("queue", queue), ("table", table))}


def storage_identity_settings(blob: int, queue: int, table: int) -> dict[str, str]:
    """The app's storage settings: identity-based, as a production function app's, no key.

    ``AzureWebJobsStorage`` itself is set empty: a connection string there (local.settings.json's
    ``UseDevelopmentStorage=true``) would win over the ``__*`` settings, and the environment wins
    over local.settings.json.
    """
    uris = storage_service_uris(blob, queue, table)
    return {"AzureWebJobsStorage": "", **{f"AzureWebJobsStorage__{service}ServiceUri": uri for service, uri in uris.items()},
            "AzureWebJobsStorage__credential": "managedidentity"}


def storage_explorer_connection_string(blob: int, queue: int, table: int) -> str:
    """A key-based connection string for a developer's own tools (Azure Storage Explorer); never given to the app.

    The key is Azurite's published development key, the same in every copy of Azurite."""
    from storage_client.connection import DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY

    uris = storage_service_uris(blob, queue, table)
    return (f"DefaultEndpointsProtocol=https;AccountName={DEVELOPMENT_ACCOUNT};AccountKey={DEVELOPMENT_KEY};"
            + "".join(f"{service.capitalize()}Endpoint={uri};" for service, uri in uris.items()))


def tls_context(ca_path: Path | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=str(ca_path)) if ca_path else None


def answers(url: str, ca_path: Path | None = None) -> int | None:
    """The HTTP status at ``url``, or None when nothing answers yet (nor with a certificate of ``ca_path``)."""
    try:
        with urlopen(url, timeout=2, context=tls_context(ca_path)) as resp:
            return resp.status
    except HTTPError as exc:
        return exc.code
    except (URLError, OSError, ssl.SSLError):
        return None


def call_json(method: str, url: str, body: object = None, *, ca_path: Path | None = None,
              headers: dict[str, str] | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = Request(url, data=data, method=method,
                      headers={"content-type": "application/json", **(headers or {})})
    with urlopen(request, timeout=10, context=tls_context(ca_path)) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


def services(args: argparse.Namespace, values: dict[str, str]) -> list[Service]:
    python = sys.executable
    ca_path = args.run_dir / "identity" / "ca.pem"
    identity_url = f"https://{LOOPBACK}:{args.identity_port}"
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
        "BOOKING_API_URL": f"{booking_url}/api",
        "BOOKING_REDIRECT_URL": f"{booking_url}/book?session={{sessionId}}",
        # The managed-identity path of azure-identity, answered by the stand-in (App Service protocol);
        # IDENTITY_HEADER is added once the stand-in is up. Its CA is the only one the app trusts.
        "DATAVERSE_AUTH": "azure",
        "IDENTITY_ENDPOINT": f"{identity_url}/msi/token",
        "REQUESTS_CA_BUNDLE": str(ca_path),
        "SSL_CERT_FILE": str(ca_path),
        "AZURE_CLIENT_ID": "",
        "MSI_ENDPOINT": "",
        "MSI_SECRET": "",
        "SESSION_AUTH": args.session_auth,
    }
    if args.session_auth == "entra":  # ENTRA_CLIENT_SECRET is added once the registration exists
        app_env.update({"ENTRA_AUTHORITY": identity_url, "ENTRA_TENANT_ID": DEMO_TENANT,
                        "ENTRA_CLIENT_ID": SESSION_API_CLIENT_ID,
                        "SESSION_API_AUDIENCE": f"{SESSION_API_URI} {SESSION_API_CLIENT_ID}"})
    blob_port, queue_port, table_port = azurite_ports(args.azurite_port)
    # Storage by the app's managed identity (tokens from the stand-in, which registers Azure Storage);
    # SSL_CERT_FILE (above) is the stack's CA, which signed Azurite's certificate too.
    app_env.update(storage_identity_settings(blob_port, queue_port, table_port))
    # Azurite serves https with the stand-in's server certificate (written to --cert-dir as the stand-in
    # starts, before Azurite) and checks bearer tokens (--oauth basic); the shared key keeps working too.
    azurite = [str(AZURITE), "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent",
               "--blobHost", LOOPBACK, "--queueHost", LOOPBACK, "--tableHost", LOOPBACK,
               "--blobPort", str(blob_port), "--queuePort", str(queue_port), "--tablePort", str(table_port),
               "--location", str(args.run_dir / "azurite"), "--oauth", "basic",
               "--cert", str(ca_path.parent / "server.pem"), "--key", str(ca_path.parent / "server-key.pem")]
    identity = [python, "-m", "emulators.identity", "--port", str(args.identity_port), "--tenant", DEMO_TENANT,
                "--cert-dir", str(ca_path.parent), "--azure-storage"]
    dataverse = [python, "-m", "emulators.dataverse", "--port", str(args.dataverse_port),
                 "--data", str(args.run_dir / "dataverse.json"), "--seed-demo",
                 "--auth", "entra", "--authority", f"{identity_url}/{DEMO_TENANT}", "--authority-ca", str(ca_path)]
    return [
        Service("Entra ID stand-in", identity, args.identity_port, "/_identity/", {}, ca_path=ca_path),
        Service("Dataverse emulator", dataverse, args.dataverse_port, "/_emulator/", {}),
        Service("booking sandbox", booking, args.booking_port, "/", {}),
        # Azurite answers 400 to a bare GET: any answer on all three ports means it listens.
        Service("Azurite", azurite, blob_port, "/", {"AZURITE_ACCOUNTS": ""}, ca_path=ca_path,
                also_ports=(queue_port, table_port)),
        Service("devhost", [python, "-m", "devhost", "--port", str(args.port), "--app-dir", str(ROOT),
                            "--settings", str(args.settings), "--keys", str(args.run_dir / "keys.json")],
                args.port, "/api/health", app_env,
                # Ctrl-C lets running queue messages finish: the devhost drains up to 30 s
                # (devhost/queue_listener.py DRAIN_SECONDS), then gives the rest back to the queue.
                stop_seconds=40),
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
        status = answers(service.url + service.probe_path, service.ca_path)
        scheme = "https" if service.ca_path else "http"
        others = ([answers(f"{scheme}://{LOOPBACK}:{port}/", service.ca_path) for port in service.also_ports]
                  if status is not None else [])
        if status is not None and None not in others:
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
            process.wait(timeout=service.stop_seconds)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def systemuser(dataverse_url: str, column: str, value: str, fullname: str) -> str:
    """The systemuserid with ``column`` = ``value``, added through the emulator's controls when missing."""
    for row in call_json("GET", f"{dataverse_url}/_emulator/rows/systemusers").get("value", []):
        if row.get(column) == value:
            return row["systemuserid"]
    return call_json("POST", f"{dataverse_url}/_emulator/rows/systemusers", {column: value, "fullname": fullname})["id"]


def seed_identities(identity: Service, dataverse: Service, app: Service) -> dict[str, str]:
    """Registrations and users in the stand-in, their systemusers in the emulator, the demo leads
    owned by the demo owner; completes the app's environment. Answers the ids the hints need."""
    idp, ca = identity.url, identity.ca_path
    summary = call_json("GET", f"{idp}/_identity/", ca_path=ca)
    managed = next(m for m in summary["managed_identities"] if m.get("system_assigned"))
    app.env["IDENTITY_HEADER"] = summary["identity_header"]
    crm = call_json("POST", f"{idp}/_identity/apps", {"name": "Dataverse", "identifier_uris": [dataverse.url],
                    "scopes": ["user_impersonation"], "access_token_version": 1}, ca_path=ca)
    api = call_json("POST", f"{idp}/_identity/apps", {
        "name": "Booking sessions API", "client_id": SESSION_API_CLIENT_ID, "identifier_uris": [SESSION_API_URI],
        "scopes": ["Booking.Start"], "secret": True, "delegated_grants": {crm["client_id"]: ["user_impersonation"]},
    }, ca_path=ca)
    if app.env.get("SESSION_AUTH") == "entra":
        app.env["ENTRA_CLIENT_SECRET"] = api["secret"]
    for user in (OWNER, OUTSIDER):
        call_json("POST", f"{idp}/_identity/users", {**user, "requires_interaction": False}, ca_path=ca)
    ids = {
        "application": systemuser(dataverse.url, "applicationid", managed["client_id"], "Function app (managed identity)"),
        "owner": systemuser(dataverse.url, "azureactivedirectoryobjectid", OWNER["oid"], OWNER["name"]),
        "outsider": systemuser(dataverse.url, "azureactivedirectoryobjectid", OUTSIDER["oid"], OUTSIDER["name"]),
    }
    for name, level in (("application", "organization"), ("owner", "user"), ("outsider", "user")):
        call_json("PUT", f"{dataverse.url}/_emulator/access-levels/{ids[name]}", {"level": level})
    # The demo leads go to the owner through the Web API, as the managed identity (org-wide access).
    token = call_json("GET", f"{app.env['IDENTITY_ENDPOINT']}?resource={quote(dataverse.url)}&api-version=2019-08-01",
                      ca_path=ca, headers={"X-IDENTITY-HEADER": summary["identity_header"]})["access_token"]
    bearer = {"authorization": f"Bearer {token}"}
    for lead in call_json("GET", f"{dataverse.url}{DATAVERSE_API}/leads?$select=leadid", headers=bearer)["value"]:
        call_json("PATCH", f"{dataverse.url}{DATAVERSE_API}/leads({lead['leadid']})",
                  {"ownerid@odata.bind": f"/systemusers({ids['owner']})"}, headers=bearer)
    ids["token"] = token
    return ids


def demo_leads(dataverse_url: str, token: str) -> list[dict[str, str]]:
    try:
        return call_json("GET", f"{dataverse_url}{DATAVERSE_API}/leads?$select=leadid,fullname&$top=5",
                         headers={"authorization": f"Bearer {token}"}).get("value", [])
    except (URLError, OSError, ValueError):
        return []


def token_command(identity: Service, app: Service, user: str, lead_id: str) -> str:
    """A shell command: the user's token for the session API from the stand-in, then the session route."""
    mint = json.dumps({"user": user, "resource": SESSION_API_URI, "scopes": ["Booking.Start"]})
    body = json.dumps({"regarding": {"entity": "lead", "id": lead_id}})
    return (f"TOKEN=$(curl -sS --cacert {shlex.quote(str(identity.ca_path))} -H 'content-type: application/json' "
            f"-d {shlex.quote(mint)} {identity.url}/_identity/user-tokens "
            f"| {shlex.quote(sys.executable)} -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])') "
            f"&& curl -sS -w '\\n%{{http_code}}\\n' -H \"authorization: Bearer $TOKEN\" "
            f"-H 'content-type: application/json' -d {shlex.quote(body)} {app.url}/api/booking-sessions")


def hints(stack: list[Service], key: str, ids: dict[str, str]) -> str:
    identity, dataverse, booking, azurite, app = stack
    lines = [
        "",
        "The stack is up (Ctrl-C stops all of it):",
        f"  app health        {app.url}/api/health",
        f"  Entra ID stand-in {identity.url}/_identity/   (CA certificate: {identity.ca_path})",
        f"  booking sandbox   {booking.url}/",
        f"  Dataverse data    {dataverse.url}/_emulator/",
        f"  storage (Azurite) the app: by its managed identity, "
        f"AzureWebJobsStorage__queueServiceUri={app.env['AzureWebJobsStorage__queueServiceUri']} (and blob, table)",
        "                    yours (e.g. Azure Storage Explorer; trust the CA certificate above first):",
        f"                    {storage_explorer_connection_string(azurite.port, *azurite.also_ports)}",
        f"                    (data in {azurite.argv[azurite.argv.index('--location') + 1]})",
        f"  function key      {key}   (from the devhost keys file; send as x-functions-key or ?code=)",
        "",
    ]
    leads = demo_leads(dataverse.url, ids["token"])
    entra = app.env.get("SESSION_AUTH") == "entra"
    if leads and entra:
        lines += [f"Session route as {OWNER['username']} (owns the demo leads; {OUTSIDER['username']} gets 404):",
                  "  " + token_command(identity, app, OWNER["username"], leads[0]["leadid"]), ""]
        lines.append("Demo leads (booking links: `make run RUN_ARGS=--session-auth=key`, see docs/demo.md):")
    elif leads:
        lines.append("Demo leads: open the redirect URL, book a slot, then watch the lead's timeline:")
    for lead in leads:
        lead_id = lead.get("leadid", "")
        lines.append(f"  {lead.get('fullname') or lead_id}")
        if not entra:  # in entra mode the redirect route does not exist
            lines.append(f"    book      {app.url}/api/booking-sessions/redirect?entity=lead&id={lead_id}"
                         f"&code={quote(key)}")
        lines.append(f"    timeline  {dataverse.url}/_emulator/timeline/leads/{lead_id}")
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
    if not AZURITE.exists():
        print(f"Azurite is not installed ({AZURITE.relative_to(ROOT)} missing): run `make azurite`", file=sys.stderr)
        return 1
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
            if service.name == "Dataverse emulator":
                ids = seed_identities(stack[0], service, stack[-1])
        print(hints(stack, key, ids), flush=True)
        while all(s.process is not None and s.process.poll() is None for s in started):
            time.sleep(0.5)
        gone = next(s for s in started if s.process is not None and s.process.poll() is not None)
        print(f"{gone.name} stopped (status {gone.process.returncode if gone.process else '?'}); stopping the rest",
              file=sys.stderr)
        return 1
    except (RuntimeError, URLError, OSError, KeyError, StopIteration) as exc:
        print(f"run_stack: {exc}; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr)
        return 0
    finally:
        stop_all(started)


if __name__ == "__main__":
    sys.exit(main())
