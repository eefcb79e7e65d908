"use strict";
/* Loads the web resource as Dynamics does (a classic script) into a fresh browser-like global scope. */
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SCRIPT = fs.readFileSync(path.join(__dirname, "..", "webresources", "new_bookingbutton.js"), "utf8");

/** `msal` is the global the msal-browser web resource defines, when the test wants one. */
function loadButton(Xrm, { msal } = {}) {
  const window = new EventTarget();
  const globals = { Xrm, window, fetch, URL, AbortController, setTimeout, clearTimeout, Promise };
  if (msal) {
    globals.msal = msal;
  }
  const context = vm.createContext(globals);
  const before = new Set(Object.keys(context));
  vm.runInContext(SCRIPT, context, { filename: "new_bookingbutton.js" });
  const added = Object.keys(context).filter((name) => !before.has(name));
  return { button: context.BookingButton, window, added };
}

module.exports = { loadButton };
