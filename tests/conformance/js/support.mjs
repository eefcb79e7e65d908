// Shared by the scenario files: the client under test, pointed at the emulator that pytest
// started (DATAVERSE_CONFORMANCE_URL), and the emulator's control API for setting up state.
import assert from "node:assert/strict";
import { DynamicsWebApi } from "dynamics-web-api";

export const serverUrl = process.env.DATAVERSE_CONFORMANCE_URL;
assert.ok(serverUrl, "DATAVERSE_CONFORMANCE_URL must name the emulator (pytest sets it)");
export const apiUrl = `${serverUrl}/api/data/v9.2/`;

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Configuration only: a fixed token (the emulator does not check tokens yet) and errors
// thrown instead of the library's legacy "false on 404" convenience.
export function client(extra = {}) {
  return new DynamicsWebApi({
    serverUrl,
    onTokenRefresh: async () => "conformance-token",
    propagateErrors: true,
    ...extra,
  });
}

async function admin(method, path, body) {
  const response = await fetch(`${serverUrl}/_emulator/${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `emulator control ${method} ${path} answered ${response.status}`);
  return response.status === 204 ? null : response.json();
}

export const reset = () => admin("POST", "reset");
export const insert = async (entitySet, row) => (await admin("POST", `rows/${entitySet}`, row)).id;
export const storedRow = (entitySet, id) => admin("GET", `rows/${entitySet}/${id}`);
export const throttle = (n, retryAfter) => admin("POST", "faults/throttle", { n, retry_after: retryAfter });
export const requestLog = async () => (await admin("GET", "requests")).requests;

// The promise must reject with a Dataverse error of this status (and code, when given).
export async function rejectsWith(promise, status, code) {
  let error;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  assert.ok(error, `expected HTTP ${status}, but the call succeeded`);
  assert.equal(error.status, status, `status: ${JSON.stringify(error)}`);
  if (code) assert.equal(error.code, code, `error code: ${JSON.stringify(error)}`);
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0, "a Dataverse error carries a message");
  return error;
}

// An appointment's columns for a half-hour slot, plus binds or parties.
export const appointmentData = (extra = {}) => ({
  subject: "Advice", scheduledstart: "2026-03-02T09:00:00Z", scheduledend: "2026-03-02T09:30:00Z", ...extra,
});
