"""The stack as it runs with ``SESSION_AUTH=entra`` (tools/run_stack.py's default), in this process.

- the Entra ID stand-in over https (emulators/identity, docs/identity-stand-in.md) with the
  registrations a tenant has for the ribbon button (docs/ribbon-button.md): the session API
  (delegated scope ``Booking.Start``, a client secret, admin consent for Dataverse's
  ``user_impersonation``), the button's single-page application (redirect URI = the form
  origin's ``new_bookingauth.html``, pre-authorized for ``Booking.Start``), Dataverse (v1.0
  tokens for its URL) and the Dynamics web client the users sign in to first;
- the Dataverse emulator checking tokens (``auth="entra"``) with record-level security;
- the booking sandbox signing webhooks to the app;
- the app (function_app.py on the devhost) in entra mode, reaching Dataverse with its
  managed identity (served by the stand-in) and reading records as the signed-in user, with
  CORS for the form's origin (``Host.CORS`` under Core Tools, the platform's list in Azure);
- the Dynamics form stand-in (dynamics_form.py) over https with the committed web resources.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.support.apphost import start_host, stop_host
from tests.support.booking import start_sandbox
from tests.support.settings import VERSION_COLUMN, settings_for
from tests.support.webhooks import new_secret
from tests.system.browser.dynamics_form import FORM_PATH, DynamicsForm, FormSetup, spki_pins

SCOPE_NAME = "Booking.Start"


@dataclass(frozen=True)
class Person:
    """A user of the tenant who is also a Dynamics user (a systemuser with an access level)."""

    username: str  # the sign-in name (UPN): the systemuser's domainname
    name: str
    oid: str
    systemuser_id: str


@dataclass
class SignedInStack:
    identity: Any  # emulators.identity.IdentityStandIn
    dataverse: Any  # emulators.dataverse.DataverseEmulator
    booking: Any  # emulators.booking.BookingSandbox
    app: Any  # devhost.DevHost
    form: DynamicsForm
    api_uri: str
    spa_client_id: str
    web_client_id: str  # "Dynamics 365" web client: what the users signed in to

    def reset(self) -> None:
        """Rows, sandbox, sign-in sessions and logs forgotten; the app's own Dataverse user back."""
        self.dataverse.reset()
        self.booking.reset()
        self.identity.reset()
        system = self.identity.system_identity
        self.dataverse.add_application_user(system.client_id, "Function app (managed identity)")

    def add_person(self, label: str, access: str = "user") -> Person:
        suffix = secrets.token_hex(4)
        user = self.identity.add_user(f"{label}.{suffix}@contoso.example", f"{label.title()} {suffix}")
        systemuser_id = self.dataverse.add_user(user.oid, user.name, access=access)
        return Person(user.username, user.name, user.oid, systemuser_id)

    def add_lead(self, owner: Person, firstname: str, lastname: str) -> str:
        return self.dataverse.insert("leads", {
            "firstname": firstname, "lastname": lastname, "subject": "Mortgage",
            "ownerid@odata.bind": f"/systemusers({owner.systemuser_id})",
        })

    def open_form_as(self, person: Person, entity: str, record_id: str) -> FormSetup:
        """What the form page shows next: this user, this record, the solution's environment variables."""
        self.form.setup = FormSetup(
            variables={
                "new_BookingFunctionUrl": self.app.url,
                "new_BookingFunctionKey": None,
                "new_BookingTenantId": self.identity.tenant_id,
                "new_BookingSpaClientId": self.spa_client_id,
                "new_BookingAuthority": self.identity.url,
                "new_BookingApiScope": f"{self.api_uri}/{SCOPE_NAME}",
            },
            user_name=person.name, user_id=person.systemuser_id, sign_in_name=person.username,
            entity=entity, record_id=record_id,
        )
        return self.form.setup

    def dynamics_sign_in_url(self) -> str:
        """Where Dynamics sends a user to sign in (the authorization code flow of its web client);
        the stand-in's sign-in page lists the users and answers back to the form."""
        query = {"client_id": self.web_client_id, "response_type": "code", "response_mode": "query",
                 "redirect_uri": self.form.form_url, "scope": f"{self.dataverse.url}/user_impersonation openid",
                 "state": secrets.token_urlsafe(8)}
        return f"{self.identity.authority()}/oauth2/v2.0/authorize?{urlencode(query)}"

    def timeline_url(self, entity_set: str, record_id: str) -> str:
        return f"{self.dataverse.url}/_emulator/timeline/{entity_set}/{record_id}"

    def browser_pins(self) -> list[str]:
        """SPKI pins of the two throw-away CAs (each server presents its certificate with its CA)."""
        return spki_pins(self.identity.ca_path, self.form.tls.ca_path)

    def stop(self) -> None:
        for stop in (lambda: stop_host(self.app), self.form.stop, self.booking.stop, self.dataverse.stop,
                     self.identity.stop):
            stop()


def start_signed_in_stack() -> SignedInStack:
    from emulators.dataverse import DataverseEmulator
    from emulators.identity import IdentityStandIn

    started: list[Any] = []
    try:
        identity = IdentityStandIn().start()
        started.append(identity.stop)
        dataverse = DataverseEmulator(custom_columns={"appointment": {VERSION_COLUMN: "string"}}, seed_demo=False,
                                      auth="entra", authority=identity.authority(), authority_ca=identity.ca_path)
        dataverse.start()
        started.append(dataverse.stop)
        form = DynamicsForm().start()
        started.append(form.stop)
        api_key, secret = secrets.token_urlsafe(16), new_secret()
        sandbox = start_sandbox(api_key, secret, retry_delays=(0.05, 0.1), max_retry_after=0.2)
        started.append(sandbox.stop)
        registrations = _register(identity, dataverse, form)
        settings = {
            **settings_for(dataverse.url, sandbox, api_key=api_key, webhook_secret=secret,
                           version_column=VERSION_COLUMN),
            # The app's own Dataverse calls (the webhook): its managed identity, App Service protocol.
            "DATAVERSE_AUTH": "azure",
            "IDENTITY_ENDPOINT": identity.identity_endpoint,
            "IDENTITY_HEADER": identity.identity_header,
            "SSL_CERT_FILE": identity.ca_path,
            "REQUESTS_CA_BUNDLE": identity.ca_path,
            # The session route: users' tokens for the session API, records read as the user.
            "SESSION_AUTH": "entra",
            "ENTRA_AUTHORITY": identity.url,
            "ENTRA_TENANT_ID": identity.tenant_id,
            "ENTRA_CLIENT_ID": registrations["api"].client_id,
            "ENTRA_CLIENT_SECRET": registrations["api_secret"],
            "SESSION_API_AUDIENCE": f"{registrations['api_uri']} {registrations['api'].client_id}",
        }
        from devhost.cors import CorsPolicy

        app = start_host(settings, cors=CorsPolicy(origins=(form.url,)))
        started.append(lambda: stop_host(app))
    except BaseException:
        for stop in reversed(started):
            stop()
        raise
    sandbox.webhook_url = f"{app.url}/api/webhooks/appointments"
    return SignedInStack(identity, dataverse, sandbox, app, form, registrations["api_uri"],
                         registrations["spa"].client_id, registrations["web"].client_id)


def _register(identity: Any, dataverse: Any, form: DynamicsForm) -> dict[str, Any]:
    crm = identity.add_app("Dataverse", identifier_uris=[dataverse.url], scopes=["user_impersonation"],
                           access_token_version=1)
    api_uri = f"api://booking-sessions-{secrets.token_hex(4)}"
    api = identity.add_app("Booking sessions API", identifier_uris=[api_uri], scopes=[SCOPE_NAME])
    api.delegated_grants[crm.client_id] = ["user_impersonation"]  # admin consent for the on-behalf-of leg
    spa = identity.add_app("Book appointment button", public_client=True, redirect_uris=[form.redirect_uri])
    api.pre_authorized[spa.client_id] = [SCOPE_NAME]
    web = identity.add_app("Dynamics 365 (web client)", redirect_uris=[form.url + FORM_PATH])
    return {"api": api, "api_secret": api.add_secret(), "api_uri": api_uri, "spa": spa, "web": web}
