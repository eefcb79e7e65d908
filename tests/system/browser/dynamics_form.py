"""A stand-in for a Dynamics 365 organisation's web origin: one lead form and the web resources.

Served over **https** on loopback with a certificate from tools/local_tls.py, as Dynamics is: the
button's sign-in redirect page must be an https URL on the form's own origin, and msal-browser's
redirect bridge hands the answer back to the form through that origin.

- ``/main.aspx``: a lead (or contact) form with a "Book appointment" button wired the way the
  ribbon command is (dynamics/ribbon/RibbonDiffXml.xml: ``BookingButton.open`` with the
  PrimaryControl). The Dynamics client API (``Xrm``) is the node tests': the xrm-mock package
  (its one-file browser build, loaded by dynamics/tests/amd-loader.js) set up by
  dynamics/tests/dynamics-xrm.js, with ``Xrm.Navigation.openUrl`` also opening a window as
  Dynamics does; environment variables, the user and the record come from :attr:`DynamicsForm.setup`.
  After a click the form shows the button's notification in ``#notification`` and sets
  ``data-outcome`` on ``<body>`` (``opened`` or ``refused``).
- ``/WebResources/<name>``: the committed files of dynamics/webresources/, byte for byte
  (``new_bookingbutton.js``, ``new_msalbrowser.js``, ``new_bookingauth.html``,
  ``new_msalredirectbridge.js``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support import ROOT
from tools.local_tls import TlsFiles, generate
from tools.loopback_server import LoopbackServer

WEB_RESOURCES = ROOT / "dynamics" / "webresources"
# The form page's client API, in load order: a small AMD loader, xrm-mock's browser build (installed
# by `npm ci` in dynamics/, which `make test` runs), and the tests' set-up of it.
FORM_SCRIPTS = {
    "amd-loader.js": ROOT / "dynamics" / "tests" / "amd-loader.js",
    "xrm-mock.js": ROOT / "dynamics" / "node_modules" / "xrm-mock" / "build" / "index.js",
    "dynamics-xrm.js": ROOT / "dynamics" / "tests" / "dynamics-xrm.js",
}
SERVED = {"new_bookingbutton.js", "new_msalbrowser.js", "new_msalredirectbridge.js", "new_bookingauth.html"}
FORM_PATH = "/main.aspx"
REDIRECT_PAGE = "/WebResources/new_bookingauth.html"
NO_STORE = {"Cache-Control": "no-store"}

FORM_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lead (Dynamics form stand-in)</title>
  <script src="/_form/amd-loader.js"></script>
  <script src="/_form/xrm-mock.js"></script>
  <script src="/_form/dynamics-xrm.js"></script>
  <script src="/WebResources/new_bookingbutton.js"></script>
</head>
<body data-outcome="">
  <h1>Lead</h1>
  <button id="book" type="button">Book appointment</button>
  <p id="notification" role="alert"></p>
  <script type="application/json" id="form-setup">__SETUP__</script>
  <script>
    (function () {
      "use strict";
      var setup = JSON.parse(document.getElementById("form-setup").textContent);
      var variables = Object.keys(setup.variables).map(function (name) {
        return DynamicsXrm.definition(name, null, setup.variables[name]);
      });
      var client = DynamicsXrm.createXrm({
        variables: variables, clientUrl: location.origin, userName: setup.userName,
        userId: setup.userId, users: setup.users,
      });
      // xrm-mock records the call; Dynamics opens the URL in a new window of the given size.
      var navigation = client.Xrm.Navigation;
      var recordOpenUrl = navigation.openUrl.bind(navigation);
      navigation.openUrl = function (url, options) {
        recordOpenUrl(url, options);
        window.open(url, "_blank", "width=" + options.width + ",height=" + options.height);
      };
      window.Xrm = client.Xrm;
      var form = DynamicsXrm.createForm({ entity: setup.entity, id: "{" + setup.recordId.toUpperCase() + "}" });
      document.getElementById("book").addEventListener("click", function () {
        document.body.dataset.outcome = "";
        BookingButton.open(form.formContext).then(function (opened) {
          var shown = DynamicsXrm.notificationOf(form.formContext);
          document.getElementById("notification").textContent = shown ? shown.message : "";
          document.body.dataset.outcome = opened ? "opened" : "refused";
        });
      });
    })();
  </script>
</body>
</html>
"""


@dataclass
class FormSetup:
    """What the form page's Xrm answers: environment variables, the signed-in user, the record."""

    variables: dict[str, str | None] = field(default_factory=dict)
    user_name: str = ""  # userSettings.userName: the display name, as Dynamics gives it
    user_id: str = ""  # userSettings.userId (a systemuserid)
    sign_in_name: str = ""  # the systemuser's domainname: the button's login hint
    entity: str = "lead"
    record_id: str = ""

    def json(self) -> str:
        return json.dumps({
            "variables": self.variables, "userName": self.user_name, "userId": self.user_id,
            "users": {self.user_id: {"domainname": self.sign_in_name}}, "entity": self.entity,
            "recordId": self.record_id,
        }).replace("</", "<\\/")


class DynamicsForm:
    """The https origin of the form and its web resources; ``setup`` is read at each page load."""

    def __init__(self) -> None:
        if not FORM_SCRIPTS["xrm-mock.js"].is_file():
            raise RuntimeError("xrm-mock is not installed: run `make test` (it runs `npm ci` in dynamics/)")
        self.setup = FormSetup()
        self._folder = Path(tempfile.mkdtemp(prefix="dynamics-form-"))
        self.tls: TlsFiles = generate(self._folder, ca_name="Dynamics form stand-in CA (development only)")
        self._server = LoopbackServer(self._app(), name="dynamics-form", ssl_certfile=str(self.tls.cert_path),
                                      ssl_keyfile=str(self.tls.key_path))

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def form_url(self) -> str:
        return self.url + FORM_PATH

    @property
    def redirect_uri(self) -> str:
        """The SPA redirect URI the button uses: the sign-in page among the web resources."""
        return self.url + REDIRECT_PAGE

    def start(self) -> DynamicsForm:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _app(self) -> Starlette:
        async def form(request: Request) -> Response:
            return HTMLResponse(FORM_PAGE.replace("__SETUP__", self.setup.json()), headers=NO_STORE)

        async def web_resource(request: Request) -> Response:
            name = request.path_params["name"]
            if name not in SERVED:
                return PlainTextResponse("Not found", status_code=404)
            return FileResponse(WEB_RESOURCES / name, media_type=_media_type(name), headers=NO_STORE)

        async def form_script(request: Request) -> Response:
            script = FORM_SCRIPTS.get(request.path_params["name"])
            if script is None:
                return PlainTextResponse("Not found", status_code=404)
            return FileResponse(script, media_type="text/javascript", headers=NO_STORE)

        return Starlette(routes=[
            Route(FORM_PATH, form, methods=["GET"]),
            Route("/WebResources/{name}", web_resource, methods=["GET"]),
            Route("/_form/{name}", form_script, methods=["GET"]),
        ])


def _media_type(name: str) -> str:
    return "text/html; charset=utf-8" if name.endswith(".html") else "text/javascript; charset=utf-8"


def spki_pins(*certificate_files: str | Path) -> list[str]:
    """Base64 SHA-256 of each PEM certificate's public key, for Chromium's
    ``--ignore-certificate-errors-spki-list``: the browser then accepts chains holding these
    keys (these throw-away CAs, which the servers send along with their certificates) and no
    others, without touching any trust store."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pins = []
    for path in certificate_files:
        for cert in x509.load_pem_x509_certificates(Path(path).read_bytes()):
            spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            pins.append(base64.b64encode(hashlib.sha256(spki).digest()).decode())
    return pins
