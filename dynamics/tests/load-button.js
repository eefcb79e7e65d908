"use strict";
/* Loads the web resource as Dynamics does (a classic script) into a fresh browser-like global scope. */
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SCRIPT = fs.readFileSync(path.join(__dirname, "..", "webresources", "new_bookingbutton.js"), "utf8");

/**
 * A page's document as far as adding a <script> goes: `library` maps script URLs to the
 * global `msal` that loading them defines; any other URL fails to load (404).
 */
function createDocument(context, library) {
  const scripts = [];
  const document = {
    createElement: (tagName) => ({ tagName, removed: false, remove() { this.removed = true; } }),
    head: {
      appendChild(element) {
        scripts.push(element);
        setImmediate(() => {
          if (library[element.src]) {
            context.msal = library[element.src];
            element.onload();
          } else {
            element.onerror();
          }
        });
      },
    },
  };
  return { document, scripts };
}

/** `msal`: the global the msal-browser web resource defines, when the command loaded it. */
function loadButton(Xrm, { msal, library = {} } = {}) {
  const window = new EventTarget();
  const globals = { Xrm, window, fetch, URL, AbortController, setTimeout, clearTimeout, Promise };
  if (msal) {
    globals.msal = msal;
  }
  const context = vm.createContext(globals);
  const { document, scripts } = createDocument(context, library);
  window.document = document;
  const before = new Set(Object.keys(context));
  vm.runInContext(SCRIPT, context, { filename: "new_bookingbutton.js" });
  const added = Object.keys(context).filter((name) => !before.has(name));
  return { button: context.BookingButton, window, added, scripts };
}

module.exports = { loadButton };
