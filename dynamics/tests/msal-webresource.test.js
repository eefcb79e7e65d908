"use strict";
/*
 * The committed msal-browser web resources: the pinned version, the globals the button and
 * the redirect page rely on, and (when `npm ci` has run in dynamics/) byte equality with the
 * pinned package's files.
 */
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const { createXrm, createForm, definition, notificationOf } = require("./dynamics-xrm");
const { loadButton } = require("./load-button");
const { createMsal } = require("./fake-msal");

const DYNAMICS = path.join(__dirname, "..");
const WEBRESOURCES = path.join(DYNAMICS, "webresources");
const PINNED = JSON.parse(fs.readFileSync(path.join(DYNAMICS, "package.json"), "utf8")).dependencies["@azure/msal-browser"];
const INSTALLED = fs.existsSync(path.join(DYNAMICS, "node_modules", "@azure", "msal-browser", "package.json"));

/** Runs the committed web resources as classic scripts in one fresh global scope. */
function loadWebResources(...names) {
  const context = vm.createContext({});
  for (const name of names) {
    vm.runInContext(fs.readFileSync(path.join(WEBRESOURCES, name), "utf8"), context, { filename: name });
  }
  return context;
}

test("package.json pins an exact version and the lock file agrees", () => {
  assert.match(PINNED, /^\d+\.\d+\.\d+$/);
  const lock = JSON.parse(fs.readFileSync(path.join(DYNAMICS, "package-lock.json"), "utf8"));
  assert.equal(lock.packages["node_modules/@azure/msal-browser"].version, PINNED);
  assert.match(lock.packages["node_modules/@azure/msal-browser"].integrity, /^sha512-/);
});

test("new_msalbrowser.js is the pinned version and defines the global msal the button uses", () => {
  const { msal } = loadWebResources("new_msalbrowser.js");

  assert.equal(msal.version, PINNED);
  assert.equal(typeof msal.PublicClientApplication, "function");
  const error = new msal.InteractionRequiredAuthError("login_required");
  assert.equal(error.errorCode, "login_required");
  assert.equal(new msal.BrowserAuthError("popup_window_error") instanceof msal.InteractionRequiredAuthError, false);
});

test("the redirect page loads the bridge, which defines what the page calls", () => {
  const html = fs.readFileSync(path.join(WEBRESOURCES, "new_bookingauth.html"), "utf8");
  assert.match(html, /<script src="new_msalredirectbridge\.js"><\/script>/);
  assert.match(html, /msalRedirectBridge\.broadcastResponseToMainFrame\(\)/);

  const { msalRedirectBridge } = loadWebResources("new_msalredirectbridge.js");
  assert.equal(typeof msalRedirectBridge.broadcastResponseToMainFrame, "function");
});

test("the button tells MSAL's real error classes apart: popup after interaction_required, blocked popup explained", async () => {
  const real = loadWebResources("new_msalbrowser.js").msal;
  const fake = createMsal({
    silent: new real.InteractionRequiredAuthError("login_required"),
    popup: new real.BrowserAuthError("popup_window_error"),
  });
  const msal = { ...fake.msal, InteractionRequiredAuthError: real.InteractionRequiredAuthError };
  const variables = [
    ["new_BookingFunctionUrl", "http://127.0.0.1:9"],
    ["new_BookingTenantId", "contoso.example"],
    ["new_BookingSpaClientId", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"],
    ["new_BookingApiScope", "api://booking-sessions/Booking.Start"],
  ].map(([name, value]) => definition(name, null, value));
  const { Xrm } = createXrm({ variables });
  const { button, window } = loadButton(Xrm, { msal });
  const { formContext } = createForm();

  assert.equal(await button.open(formContext, { window }), false);

  assert.equal(fake.calls.acquireTokenPopup.length, 1);
  assert.match(notificationOf(formContext).message, /blocked by the browser/);
});

test("the committed files equal the pinned package's files", { skip: !INSTALLED && "run npm ci in dynamics/ (make test does)" }, async () => {
  const { compare } = await import("../build-msal-webresource.mjs");

  const files = compare();

  assert.equal(files.length, 3);
  for (const { target, bytes, current } of files) {
    assert.ok(current && current.equals(bytes), `webresources/${target} differs: run node dynamics/build-msal-webresource.mjs`);
  }
});
