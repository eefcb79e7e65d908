"use strict";
/*
 * The tests' Dynamics client API is the pinned xrm-mock package (dynamics-xrm.js), in node
 * through its CommonJS build and in the browser test's form page through its one-file AMD
 * build and amd-loader.js: both checked here, the browser way in one shared global scope as a
 * page has.
 */
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const XrmMock = require("xrm-mock");
const { createXrm, createForm, definition, notificationOf } = require("./dynamics-xrm");

const DYNAMICS = path.join(__dirname, "..");
const PINNED = JSON.parse(fs.readFileSync(path.join(DYNAMICS, "package.json"), "utf8")).devDependencies["xrm-mock"];
const RECORD = "{0F8FAD5B-D9CB-469F-A165-70867728950E}";
/** The page's scripts run in their own realm: compare their objects by value. */
const plain = (value) => JSON.parse(JSON.stringify(value));

test("package.json pins xrm-mock exactly as a dev dependency and the lock file agrees", () => {
  assert.match(PINNED, /^\d+\.\d+\.\d+$/);
  const lock = JSON.parse(fs.readFileSync(path.join(DYNAMICS, "package-lock.json"), "utf8"));
  const locked = lock.packages["node_modules/xrm-mock"];
  assert.equal(locked.version, PINNED);
  assert.equal(locked.dev, true);
  assert.match(locked.integrity, /^sha512-/);
  assert.equal(require("xrm-mock/package.json").version, PINNED, "run npm ci in dynamics/ (make test does)");
});

test("the Xrm, form and notifications the button gets are xrm-mock's", async () => {
  const { Xrm, calls } = createXrm({ variables: [definition("new_BookingFunctionUrl", null, "https://fn.example")] });
  const { formContext } = createForm({ id: "" });

  assert.ok(Xrm instanceof XrmMock.XrmStaticMock);
  assert.ok(formContext instanceof XrmMock.FormContextMock);
  assert.ok(formContext.data.entity instanceof XrmMock.EntityMock);
  assert.equal(formContext.data.entity.getId(), "", "a record not saved yet has no id, as in Dynamics");
  assert.ok(Xrm.Utility.getGlobalContext().userSettings instanceof XrmMock.UserSettingsMock);
  assert.ok(formContext.ui.controls.get("Timeline") instanceof XrmMock.TimelineWallMock);
  assert.equal(createForm({ dirty: true }).formContext.data.entity.getIsDirty(), true);
  assert.equal(createForm().formContext.data.entity.getIsDirty(), false);
  Xrm.Navigation.openUrl("https://book.example.com/x", { width: 1 });
  assert.deepEqual(calls.opened.map((o) => o.url), ["https://book.example.com/x"]);
  formContext.ui.setFormNotification("Shown.", "ERROR", "new_bookingbutton");
  assert.deepEqual(notificationOf(formContext), { message: "Shown.", level: "ERROR", uniqueId: "new_bookingbutton" });
  const { entities } = await Xrm.WebApi.retrieveMultipleRecords(
    "environmentvariabledefinition", "?$filter=schemaname eq 'new_BookingFunctionUrl'");
  assert.deepEqual(entities.map((e) => [e.schemaname, e.environmentvariabledefinition_environmentvariablevalue]),
    [["new_BookingFunctionUrl", undefined]], "no current value without $expand");
});

/** The form page's scripts, in its order, in one global scope: what the browser test loads. */
function loadFormPageScripts() {
  const context = vm.createContext({ URL, setTimeout, clearTimeout, fetch, AbortController });
  context.window = context;
  const scripts = [
    path.join(__dirname, "amd-loader.js"),
    require.resolve("xrm-mock/build/index.js"),
    path.join(__dirname, "dynamics-xrm.js"),
    path.join(DYNAMICS, "webresources", "new_bookingbutton.js"),
    path.join(DYNAMICS, "webresources", "new_msalbrowser.js"),
  ];
  for (const file of scripts) {
    vm.runInContext(fs.readFileSync(file, "utf8"), context, { filename: path.basename(file) });
  }
  return context;
}

test("xrm-mock's browser build, through amd-loader.js, is the form page's Xrm and the button runs on it", async () => {
  const page = loadFormPageScripts();
  const { DynamicsXrm, BookingButton } = page;
  const { Xrm, calls } = DynamicsXrm.createXrm({
    variables: [DynamicsXrm.definition("new_BookingFunctionUrl", null, "https://fn.example/")],
  });
  page.Xrm = Xrm;
  const { formContext } = DynamicsXrm.createForm({ entity: "contact", id: RECORD });

  assert.equal(await BookingButton.open(formContext, { window: new EventTarget() }), true);

  assert.deepEqual(plain(calls.opened.map((o) => o.url)), [
    "https://fn.example/api/booking-sessions/redirect?entity=contact&id=0f8fad5b-d9cb-469f-a165-70867728950e",
  ]);
  assert.deepEqual(plain(calls.progress), [["show", "Opening the booking page..."], ["close"]]);
  assert.equal(DynamicsXrm.notificationOf(formContext), undefined);
  assert.equal(page.define, undefined, "the loader's define is gone once xrm-mock is loaded");
  assert.equal(typeof page.msal.PublicClientApplication, "function", "msal-browser still defines its global");

  const unsaved = DynamicsXrm.createForm({ id: "" }).formContext;
  assert.equal(await BookingButton.open(unsaved, { window: new EventTarget() }), false);
  assert.match(DynamicsXrm.notificationOf(unsaved).message, /Save the record before booking/);
});
