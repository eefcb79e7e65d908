// Error answers: the {"error": {"code", "message"}} body with the right status, and 429 with
// Retry-After. Expected results from Microsoft Learn, "Parse errors from the Web API" and
// "Service protection API limits".
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { client, insert, reset, rejectsWith, requestLog, throttle } from "./support.mjs";

const api = client();
beforeEach(reset);

test("an unknown entity set, a bad $filter and an unknown column are 4xx with code and message", async () => {
  const unknownSet = await rejectsWith(api.retrieveMultiple({ collection: "contactz" }), 404, "0x80060888");
  assert.match(unknownSet.message, /contactz/);
  assert.match(unknownSet.headers["content-type"], /^application\/json/);

  await rejectsWith(api.retrieveMultiple({ collection: "contacts", filter: "firstname eq" }), 400);
  const column = await rejectsWith(api.retrieveMultiple({ collection: "contacts", select: ["nosuchcolumn"] }), 400);
  assert.match(column.message, /nosuchcolumn/);
  const property = await rejectsWith(api.create({ collection: "contacts", data: { nosuchcolumn: "x" } }), 400);
  assert.match(property.message, /nosuchcolumn/);
  await rejectsWith(api.create({ collection: "contacts", data: { firstname: "x".repeat(51) } }), 400);
});

test("query options Dataverse honours are never ignored: savedQuery and userQuery of a missing view fail", async () => {
  await insert("contacts", { firstname: "Ada" });
  for (const option of ["savedQuery", "userQuery"]) {
    let answer;
    let error;
    try {
      answer = await api.retrieve({ collection: "contacts", [option]: "00000000-0000-0000-0000-0000000000bb" });
    } catch (caught) {
      error = caught;
    }
    const sent = (await requestLog()).at(-1);
    assert.match(sent.query, new RegExp(`${option}=`), `the client sent ${sent.path}?${sent.query}`);
    assert.ok(error, `${option} of a view that does not exist answered ${JSON.stringify(answer)}`);
    assert.ok([400, 404].includes(error.status), `${option}: ${error.status}`);
  }
});

test("429 carries Retry-After and a service protection code; the next request succeeds", async () => {
  await throttle(1, 3);
  const error = await rejectsWith(api.retrieveMultiple({ collection: "contacts" }), 429);
  assert.ok(["0x80072322", "0x80072321", "0x80072326"].includes(error.code), `code ${error.code}`);
  assert.equal(error.headers["retry-after"], "3");
  const page = await api.retrieveMultiple({ collection: "contacts" });
  assert.deepEqual(page.value, []);
});
