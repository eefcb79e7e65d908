"use strict";
/*
 * The ribbon button, run as Dynamics runs it (a classic script) against xrm-mock's Xrm and a
 * real local HTTP server that answers like the function app.
 */
const test = require("node:test");
const assert = require("node:assert/strict");

const { createXrm, createForm, definition, notificationOf } = require("./dynamics-xrm");
const { useFunctionApp } = require("./function-app");
const { loadButton } = require("./load-button");

const KEY = "function-key-123";

function settingsFor(app, { key = KEY, current = true } = {}) {
  return [
    current ? definition("new_BookingFunctionUrl", "https://default.invalid", app.url + "/") : definition("new_BookingFunctionUrl", app.url),
    definition("new_BookingFunctionKey", null, key),
  ];
}

const app = useFunctionApp(test);

async function click(formOptions = {}, settingOptions = {}, options = {}) {
  const { Xrm, calls } = createXrm({ variables: settingsFor(app, settingOptions) });
  const { button, window, added } = loadButton(Xrm);
  const { formContext, state } = createForm(formOptions);
  const opened = await button.open(formContext, { window, ...options });
  return { opened, calls, state, window, added, notification: notificationOf(formContext) };
}

test("defines no global but BookingButton", () => {
  const { added } = loadButton(createXrm().Xrm);
  assert.deepEqual(added, ["BookingButton"]);
});

test("asks for a session for the open record and opens the booking page", async () => {
  const result = await click();

  assert.equal(result.opened, true);
  assert.equal(app.requests.length, 1);
  const [request] = app.requests;
  assert.equal(request.method, "POST");
  assert.equal(request.url, "/api/booking-sessions");
  assert.equal(request.headers["x-functions-key"], KEY);
  assert.match(request.headers["content-type"], /^application\/json/);
  assert.deepEqual(JSON.parse(request.body), {
    regarding: { entity: "lead", id: "0f8fad5b-d9cb-469f-a165-70867728950e" },
  });
  assert.deepEqual(result.calls.opened.map((o) => o.url), ["https://book.example.com/start?session=sess_1"]);
  assert.equal(result.notification, undefined);
  assert.deepEqual(result.calls.progress, [["show", "Opening the booking page..."], ["close"]]);
});

test("reads the URL and key from environment variables, current value over default", async () => {
  const result = await click({}, { current: true });

  const [query] = result.calls.queries;
  assert.equal(query.entityLogicalName, "environmentvariabledefinition");
  assert.match(query.options, /schemaname eq 'new_BookingFunctionUrl' or schemaname eq 'new_BookingFunctionKey'/);
  assert.equal(app.requests.length, 1, "called the current value's URL, not the default");
});

test("falls back to the default value when no current value is set", async () => {
  const result = await click({}, { current: false });

  assert.equal(result.opened, true);
  assert.equal(app.requests.length, 1);
});

test("works on contact forms too", async () => {
  await click({ entity: "contact" });

  assert.equal(JSON.parse(app.requests[0].body).regarding.entity, "contact");
});

test("refreshes the timeline once when the user comes back", async () => {
  const result = await click();
  assert.equal(result.state.timelineRefreshes, 0);

  result.window.dispatchEvent(new Event("focus"));
  result.window.dispatchEvent(new Event("focus"));

  assert.equal(result.state.timelineRefreshes, 1);
});

test("refreshes the form data when the form has no timeline control", async () => {
  const result = await click({ timeline: false });

  result.window.dispatchEvent(new Event("focus"));

  assert.equal(result.state.dataRefreshes, 1);
});

test("refuses a record that has not been saved yet, without calling the app", async () => {
  const result = await click({ id: "" });

  assert.equal(result.opened, false);
  assert.match(result.notification.message, /Save the record/);
  assert.equal(app.requests.length, 0);
  assert.equal(result.calls.opened.length, 0);
});

test("refuses other entities", async () => {
  const result = await click({ entity: "account" });

  assert.match(result.notification.message, /lead and contact/);
  assert.equal(app.requests.length, 0);
});

test("saves pending changes first so the app reads what the user sees", async () => {
  const result = await click({ dirty: true });

  assert.equal(result.state.saves, 1);
  assert.equal(app.requests.length, 1);
});

test("a failed save stops the booking with the save's message", async () => {
  const result = await click({ dirty: true, saveError: { errorCode: 1, message: "Last Name is required" } });

  assert.equal(app.requests.length, 0);
  assert.match(result.notification.message, /Last Name is required/);
  assert.equal(result.notification.level, "ERROR");
});

const FAILURES = [
  ["notFound", /could not find this record/],
  ["badGateway", /booking system answered with an error \(The booking API answered 500\.\)/],
  ["unavailable", /unavailable\. Try again in 30 seconds\./],
  ["unavailableBodyOnly", /unavailable\. Try again in 45 seconds\./],
  ["unavailableBodyGarbage", /unavailable\. Try again in a minute\./],
  ["unauthorized", /function key \(new_BookingFunctionKey\)/],
  ["garbage", /unexpected answer/],
  ["hostileRedirect", /unexpected answer/],
];
for (const [answer, message] of FAILURES) {
  test(`shows a clear notification for ${answer} and opens nothing`, async () => {
    app.answer = answer;

    const result = await click();

    assert.equal(result.opened, false);
    assert.match(result.notification.message, message);
    assert.equal(result.notification.level, "ERROR");
    assert.equal(result.calls.opened.length, 0);
    assert.deepEqual(result.calls.progress.at(-1), ["close"]);
  });
}

test("a network error gets its own message", async () => {
  const { Xrm, calls } = createXrm({
    variables: [definition("new_BookingFunctionUrl", null, "http://127.0.0.1:9"), definition("new_BookingFunctionKey", null, KEY)],
  });
  const { button, window } = loadButton(Xrm);
  const { formContext } = createForm();

  assert.equal(await button.open(formContext, { window }), false);

  assert.match(notificationOf(formContext).message, /Could not reach the booking service/);
  assert.equal(calls.opened.length, 0);
});

test("a function app that does not answer times out with advice", async () => {
  app.hang = true;

  const result = await click({}, {}, { timeoutMs: 200 });

  assert.match(result.notification.message, /did not answer in time/);
});

test("missing or unsafe configuration is explained, nothing is called", async () => {
  for (const url of [null, "http://functions.example.com", "not a url"]) {
    const { Xrm } = createXrm({ variables: [definition("new_BookingFunctionUrl", url)] });
    const { button, window } = loadButton(Xrm);
    const { formContext } = createForm();

    await button.open(formContext, { window });

    assert.match(notificationOf(formContext).message, /new_BookingFunctionUrl/);
  }
  assert.equal(app.requests.length, 0);
});

test("without a key the redirect route is opened, for App Service Authentication", async () => {
  const result = await click({ entity: "contact" }, { key: null });

  assert.equal(app.requests.length, 0, "no call with a key from the browser");
  assert.deepEqual(result.calls.opened.map((o) => o.url), [
    app.url + "/api/booking-sessions/redirect?entity=contact&id=0f8fad5b-d9cb-469f-a165-70867728950e",
  ]);
  result.window.dispatchEvent(new Event("focus"));
  assert.equal(result.state.timelineRefreshes, 1);
});

test("a second click clears the previous failure", async () => {
  app.answer = "unavailable";
  const { Xrm } = createXrm({ variables: settingsFor(app) });
  const { button, window } = loadButton(Xrm);
  const { formContext } = createForm();
  await button.open(formContext, { window });
  assert.ok(notificationOf(formContext));

  app.answer = "created";
  assert.equal(await button.open(formContext, { window }), true);

  assert.equal(notificationOf(formContext), undefined);
});

test("the enable rule needs a saved record", () => {
  const { button } = loadButton(createXrm().Xrm);

  assert.equal(button.isEnabled(createForm().formContext), true);
  assert.equal(button.isEnabled(createForm({ id: "" }).formContext), false);
});
