#!/usr/bin/env node
/*
 * Copies the pinned @azure/msal-browser browser bundles and licence from node_modules (after
 * `npm ci` in dynamics/) into webresources/, the files an administrator uploads to Dynamics:
 *
 *   lib/msal-browser.min.js                          -> new_msalbrowser.js (defines the global `msal`)
 *   lib/redirect-bridge/msal-redirect-bridge.min.js  -> new_msalredirectbridge.js (used by new_bookingauth.html)
 *   LICENSE                                          -> msal-browser.LICENSE
 *
 * npm ci checks the package against the sha512 in package-lock.json, so the output is the
 * same on every machine; the sha256 of each file is printed for the release notes.
 *   node build-msal-webresource.mjs          copy, print checksums
 *   node build-msal-webresource.mjs --check  exit 1 if webresources/ differs from the package
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE_DIR = join(HERE, "node_modules", "@azure", "msal-browser");
const OUTPUT_DIR = join(HERE, "webresources");

export const FILES = [
  ["lib/msal-browser.min.js", "new_msalbrowser.js"],
  ["lib/redirect-bridge/msal-redirect-bridge.min.js", "new_msalredirectbridge.js"],
  ["LICENSE", "msal-browser.LICENSE"],
];

/** The exact version package.json pins; a range would make the build depend on the day. */
export function pinnedVersion() {
  const wanted = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8")).dependencies["@azure/msal-browser"];
  if (!/^\d+\.\d+\.\d+$/.test(wanted)) {
    throw new Error(`package.json must pin @azure/msal-browser to an exact version, not ${wanted}`);
  }
  return wanted;
}

function installedVersion() {
  try {
    return JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

const sha256 = (buffer) => createHash("sha256").update(buffer).digest("hex");

/** [source, target, sourceBytes, targetBytes or null] for every file. */
export function compare() {
  const wanted = pinnedVersion();
  const installed = installedVersion();
  if (installed !== wanted) {
    throw new Error(`node_modules has @azure/msal-browser ${installed ?? "(missing)"}, package.json pins ${wanted}: run npm ci in dynamics/`);
  }
  return FILES.map(([source, target]) => {
    const bytes = readFileSync(join(PACKAGE_DIR, source));
    let current = null;
    try {
      current = readFileSync(join(OUTPUT_DIR, target));
    } catch {
      current = null;
    }
    return { source, target, bytes, current };
  });
}

function main(args) {
  const check = args.includes("--check");
  let stale = 0;
  for (const { source, target, bytes, current } of compare()) {
    const same = current !== null && current.equals(bytes);
    if (check) {
      stale += same ? 0 : 1;
    } else if (!same) {
      writeFileSync(join(OUTPUT_DIR, target), bytes);
    }
    console.log(`${sha256(bytes)}  webresources/${target}  (${source}, ${bytes.length} bytes)${check && !same ? "  DIFFERS" : ""}`);
  }
  if (stale) {
    console.error(`${stale} file(s) differ from @azure/msal-browser ${pinnedVersion()}: run node build-msal-webresource.mjs`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2));
}
