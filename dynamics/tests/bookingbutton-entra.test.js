"use strict";
/*
 * The button in entra mode (new_BookingSpaClientId set): it signs the Dynamics user in with a
 * fake msal-browser and calls a real local HTTP server that answers like the function app.
 */
const test = require("node:test");
const assert = require("node:assert/strict");

const { createXrm, createForm, definition, notificationOf } = require("./dynamics-xrm");
const { useFunctionApp } = require("./function-app");
const { loadButton } = require("./load-button");
const { createMsal, InteractionRequiredAuthError, BrowserAuthError, AuthError } = require("./fake-msal");

const TENANT = "11111111-2222-3333-4444-555555555555";
const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SCOPE = "api://booking-sessions/Booking.Start";
const USER = "alex@contoso.example";

/** The button runs in its own realm: compare its objects by value. */
const plain = (value) => JSON.parse(JSON.stringify(value));

function entraVariables(app, overrides = {}) {
  const values = {
    new_BookingFunctionUrl: app.url,
    new_BookingFunctionKey: null,
    new_BookingTenantId: TENANT,
    new_BookingSpaClientId: CLIENT_ID,
    new_BookingAuthority: null,
    new_BookingApiScope: SCOPE,
    ...overrides,
  };
  return Object.entries(values).map(([name, value]) => definition(name, null, value));
}

const app = useFunctionApp(test);

async function click({ msalOptions = {}, variables = {} } = {}) {
  const { Xrm, calls } = createXrm({ variables: entraVariables(app, variables), userName: USER });
  const { msal, calls: msalCalls } = createMsal(msalOptions);
  const { button, window } = loadButton(Xrm, { msal });
  const { formContext, state } = createForm();
  const opened = await button.open(formContext, { window });
  return { opened, calls, msalCalls, state, notification: notificationOf(formContext) };
}

function assertFailure(result, message) {
  assert.equal(result.opened, false);
  assert.match(result.notification.message, message);
  assert.equal(result.notification.level, "ERROR");
  assert.equal(result.calls.opened.length, 0);
  assert.deepEqual(result.calls.progress.at(-1), ["close"]);
}

test("reads all settings in one query", async () => {
  const result = await click();

  assert.equal(result.calls.queries.length, 1);
  for (const name of ["new_BookingTenantId", "new_BookingSpaClientId", "new_BookingAuthority", "new_BookingApiScope"]) {
    assert.match(result.calls.queries[0].options, new RegExp(`schemaname eq '${name}'`));
  }
});

test("signs in silently with the Dynamics user as login hint and sends the token", async () => {
  const result = await click();

  assert.equal(result.opened, true);
  assert.deepEqual(plain(result.msalCalls.configs), [{
    auth: {
      clientId: CLIENT_ID,
      authority: `https://login.microsoftonline.com/${TENANT}`,
      redirectUri: "https://contoso.crm.dynamics.com/WebResources/new_bookingauth.html",
    },
    cache: { cacheLocation: "sessionStorage" },
  }]);
  assert.equal(result.msalCalls.initialized, 1);
  assert.equal(result.calls.retrieved.length, 0, "userName is a sign-in name: no lookup");
  assert.deepEqual(plain(result.msalCalls.ssoSilent), [{ scopes: [SCOPE], loginHint: USER }]);
  assert.equal(result.msalCalls.acquireTokenPopup.length, 0, "no popup when silent sign-in works");
  assert.equal(app.requests.length, 1);
  const [request] = app.requests;
  assert.equal(request.headers.authorization, "Bearer silent-token");
  assert.equal(request.headers["x-functions-key"], undefined);
  assert.deepEqual(JSON.parse(request.body), { regarding: { entity: "lead", id: "0f8fad5b-d9cb-469f-a165-70867728950e" } });
  assert.deepEqual(result.calls.opened.map((o) => o.url), ["https://book.example.com/start?session=sess_1"]);
});

test("a display name as userName: the user's domainname is the login hint", async () => {
  const { Xrm, calls } = createXrm({
    variables: entraVariables(app),
    userName: "Alex Wu",
    users: { "3B1C8E1A-0000-4000-8000-00000000A1E5": { domainname: "alex.wu@contoso.example" } },
  });
  const { msal, calls: msalCalls } = createMsal({ silent: new InteractionRequiredAuthError("login_required") });
  const { button, window } = loadButton(Xrm, { msal });

  assert.equal(await button.open(createForm().formContext, { window }), true);

  assert.deepEqual(plain(calls.retrieved), [
    { entityLogicalName: "systemuser", id: "3B1C8E1A-0000-4000-8000-00000000A1E5", options: "?$select=domainname" },
  ]);
  assert.deepEqual(plain(msalCalls.ssoSilent), [{ scopes: [SCOPE], loginHint: "alex.wu@contoso.example" }]);
  assert.deepEqual(plain(msalCalls.acquireTokenPopup), [{ scopes: [SCOPE], loginHint: "alex.wu@contoso.example" }]);
});

test("no sign-in name known: MSAL gets no login hint, the booking still works", async () => {
  const { Xrm } = createXrm({ variables: entraVariables(app), userName: "Alex Wu" });
  const { msal, calls } = createMsal();
  const { button, window } = loadButton(Xrm, { msal });

  assert.equal(await button.open(createForm().formContext, { window }), true);

  assert.deepEqual(plain(calls.ssoSilent), [{ scopes: [SCOPE] }]);
});

test("a cached account of the same user gets its token from acquireTokenSilent", async () => {
  const account = { username: "Alex@Contoso.example", homeAccountId: "x" };
  const other = { username: "someone@contoso.example", homeAccountId: "y" };

  const result = await click({ msalOptions: { accounts: [other, account] } });

  assert.equal(result.msalCalls.acquireTokenSilent.length, 1);
  assert.equal(result.msalCalls.acquireTokenSilent[0].account, account);
  assert.deepEqual(plain(result.msalCalls.acquireTokenSilent[0].scopes), [SCOPE]);
  assert.equal(result.msalCalls.ssoSilent.length, 0);
  assert.equal(app.requests[0].headers.authorization, "Bearer silent-token");
});

test("falls back to a popup when MSAL says interaction is required, and sends its token", async () => {
  const result = await click({ msalOptions: { silent: new InteractionRequiredAuthError("login_required") } });

  assert.equal(result.opened, true);
  assert.deepEqual(plain(result.msalCalls.acquireTokenPopup), [{ scopes: [SCOPE], loginHint: USER }]);
  assert.equal(app.requests[0].headers.authorization, "Bearer popup-token");
});

test("no popup for a silent failure that is not interaction-required", async () => {
  const result = await click({ msalOptions: { silent: new BrowserAuthError("monitor_window_timeout") } });

  assert.equal(result.msalCalls.acquireTokenPopup.length, 0);
  assert.equal(app.requests.length, 0);
  assertFailure(result, /Could not sign you in to the booking service \(monitor_window_timeout\)/);
});

const SIGN_IN_FAILURES = [
  ["user_cancelled", /Sign-in was cancelled/],
  ["popup_window_error", /sign-in window was blocked.*Allow pop-ups/],
  ["empty_window_error", /sign-in window was blocked.*Allow pop-ups/],
  ["interaction_in_progress", /already open/],
];
for (const [errorCode, message] of SIGN_IN_FAILURES) {
  test(`a popup ending in ${errorCode} is explained and the app is not called`, async () => {
    const result = await click({
      msalOptions: { silent: new InteractionRequiredAuthError("interaction_required"), popup: new BrowserAuthError(errorCode) },
    });

    assert.equal(result.msalCalls.acquireTokenPopup.length, 1);
    assert.equal(app.requests.length, 0);
    assertFailure(result, message);
  });
}

test("an unexpected MSAL error becomes a generic sign-in message", async () => {
  const result = await click({ msalOptions: { silent: new AuthError("") } });

  assertFailure(result, /^Could not sign you in to the booking service\. Try again/);
});

const APP_FAILURES = [
  ["notFound", /You do not have access to this record/],
  ["unavailable", /unavailable\. Try again in 30 seconds\./],
  ["unavailableMinutes", /unavailable\. Try again in 3 minutes\./],
  ["invalidToken", /did not accept your sign-in/],
  ["insufficientScope", /permission to start bookings.*administrator/],
];
for (const [answer, message] of APP_FAILURES) {
  test(`the app's ${answer} answer is explained`, async () => {
    app.answer = answer;

    const result = await click();

    assert.equal(app.requests.length, 1);
    assertFailure(result, message);
  });
}

test("missing entra configuration names the variable for the administrator", async () => {
  const cases = [
    [{ new_BookingTenantId: null }, /new_BookingTenantId.*Ask your administrator/],
    [{ new_BookingApiScope: " " }, /new_BookingApiScope.*Ask your administrator/],
    [{ new_BookingAuthority: "http://login.example.com" }, /new_BookingAuthority must be an https URL/],
  ];
  for (const [variables, message] of cases) {
    const result = await click({ variables });

    assertFailure(result, message);
    assert.equal(result.msalCalls.configs.length, 0);
  }
  assert.equal(app.requests.length, 0);
});

test("a configured authority is used for another cloud, and trusted without instance discovery", async () => {
  const result = await click({ variables: { new_BookingAuthority: "https://login.microsoftonline.us/" } });

  assert.equal(result.msalCalls.configs[0].auth.authority, `https://login.microsoftonline.us/${TENANT}`);
  assert.deepEqual(plain(result.msalCalls.configs[0].auth.knownAuthorities), ["login.microsoftonline.us"]);
});

test("a configured authority on another port is trusted with its port", async () => {
  const result = await click({ variables: { new_BookingAuthority: "https://127.0.0.1:5557" } });

  assert.equal(result.msalCalls.configs[0].auth.authority, `https://127.0.0.1:5557/${TENANT}`);
  assert.deepEqual(plain(result.msalCalls.configs[0].auth.knownAuthorities), ["127.0.0.1:5557"]);
});

test("loads the msal-browser web resource once when the command did not", async () => {
  const { Xrm } = createXrm({ variables: entraVariables(app), userName: USER });
  const { msal, calls } = createMsal();
  const library = "https://contoso.crm.dynamics.com/WebResources/new_msalbrowser.js";
  const { button, window, scripts } = loadButton(Xrm, { library: { [library]: msal } });
  const { formContext } = createForm();

  assert.equal(await button.open(formContext, { window }), true);
  assert.equal(await button.open(formContext, { window }), true);

  assert.deepEqual(scripts.map((s) => s.src), [library]);
  assert.equal(calls.ssoSilent.length, 2);
  assert.equal(app.requests[1].headers.authorization, "Bearer silent-token");
});

test("without the msal-browser web resource the administrator is told to add it", async () => {
  const { Xrm, calls } = createXrm({ variables: entraVariables(app), userName: USER });
  const { button, window, scripts } = loadButton(Xrm);
  const { formContext } = createForm();

  assert.equal(await button.open(formContext, { window }), false);

  assert.equal(scripts.length, 1);
  assert.equal(scripts[0].removed, true);
  assert.equal(app.requests.length, 0);
  assert.match(notificationOf(formContext).message, /new_msalbrowser\.js.*Ask your administrator/);
  assert.equal(calls.opened.length, 0);
});

test("the SPA client id wins over a function key: no key is sent", async () => {
  const result = await click({ variables: { new_BookingFunctionKey: "old-key" } });

  assert.equal(app.requests[0].headers["x-functions-key"], undefined);
  assert.equal(app.requests[0].headers.authorization, "Bearer silent-token");
});

test("a second click reuses the MSAL client and its cache", async () => {
  const { Xrm } = createXrm({ variables: entraVariables(app), userName: USER });
  const { msal, calls } = createMsal();
  const { button, window } = loadButton(Xrm, { msal });
  const { formContext } = createForm();

  assert.equal(await button.open(formContext, { window }), true);
  assert.equal(await button.open(formContext, { window }), true);

  assert.equal(calls.configs.length, 1);
  assert.equal(calls.initialized, 1);
  assert.equal(app.requests.length, 2);
});
