// $batch with change sets and Content-ID references; CreateMultiple, UpdateMultiple,
// UpsertMultiple. Expected results from Microsoft Learn, "Execute batch operations using the
// Web API" and "Use bulk operation messages".
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { GUID, appointmentData, client, requestLog, reset } from "./support.mjs";

const api = client();
beforeEach(reset);

const allContacts = async () =>
  (await api.retrieveMultiple({ collection: "contacts", select: ["firstname", "lastname"], orderBy: ["firstname"] })).value;

test("a change set with Content-ID references, and a GET outside it, in one $batch", async () => {
  api.startBatch();
  api.create({ collection: "contacts", data: { firstname: "Ada", lastname: "Lovelace" }, contentId: "1" });
  api.create({
    collection: "appointments",
    data: appointmentData({
      "regardingobjectid_contact_appointment@odata.bind": "$1",
    }),
    contentId: "2",
  });
  api.update({ contentId: "$1", data: { telephone1: "555-0100" } });
  api.retrieveMultiple({ collection: "contacts", select: ["firstname", "telephone1"] });
  const responses = await api.executeBatch();

  const batches = (await requestLog()).filter((r) => r.path.endsWith("$batch"));
  assert.equal(batches.length, 1, "one HTTP request carries the whole batch");
  assert.equal(responses.length, 4);
  const [contactId, appointmentId, updated, listed] = responses;
  assert.match(contactId, GUID);
  assert.match(appointmentId, GUID);
  assert.ok(updated === undefined || updated === null || updated === true, `update answers no body: ${updated}`);
  assert.deepEqual(listed.value.map((r) => [r.firstname, r.telephone1]), [["Ada", "555-0100"]]);

  const appointment = await api.retrieve({ collection: "appointments", key: appointmentId, select: ["_regardingobjectid_value"] });
  assert.equal(appointment._regardingobjectid_value, contactId);
});

test("a change set is all or nothing: one failing operation rolls back the others", async () => {
  api.startBatch();
  api.create({ collection: "contacts", data: { firstname: "Ada" } });
  api.create({ collection: "contacts", data: { firstname: "Grace", nosuchcolumn: 1 } });
  let error;
  try {
    await api.executeBatch();
  } catch (caught) {
    error = caught;
  }
  assert.ok(error, "a failing change set fails the batch");
  const failures = Array.isArray(error) ? error : [error];
  assert.ok(failures.some((e) => e.status === 400), `the failing part is a 400: ${JSON.stringify(failures)}`);
  assert.deepEqual(await allContacts(), [], "nothing from the change set was kept");
});

test("continueOnError: independent requests outside a change set each get their own answer", async () => {
  api.startBatch();
  api.create({ collection: "contacts", data: { firstname: "Ada" }, inChangeSet: false });
  api.create({ collection: "contacts", data: { firstname: "Grace", nosuchcolumn: 1 }, inChangeSet: false });
  api.create({ collection: "contacts", data: { firstname: "Alan" }, inChangeSet: false });
  const responses = await api.executeBatch({ continueOnError: true });
  assert.equal(responses.length, 3);
  assert.match(responses[0], GUID);
  assert.equal(responses[1].status, 400, `the bad request's answer: ${JSON.stringify(responses[1])}`);
  assert.match(responses[2], GUID);
  assert.deepEqual((await allContacts()).map((r) => r.firstname), ["Ada", "Alan"]);
});

test("CreateMultiple answers the new Ids; UpdateMultiple changes them", async () => {
  const created = await api.callAction({
    collection: "contacts",
    actionName: "Microsoft.Dynamics.CRM.CreateMultiple",
    action: {
      Targets: [
        { "@odata.type": "Microsoft.Dynamics.CRM.contact", firstname: "Ada", lastname: "Lovelace" },
        { "@odata.type": "Microsoft.Dynamics.CRM.contact", firstname: "Grace", lastname: "Hopper" },
      ],
    },
  });
  assert.equal(created.Ids.length, 2);
  created.Ids.forEach((id) => assert.match(id, GUID));
  assert.notEqual(created.Ids[0], created.Ids[1]);

  await api.callAction({
    collection: "contacts",
    actionName: "Microsoft.Dynamics.CRM.UpdateMultiple",
    action: {
      Targets: created.Ids.map((contactid, i) => ({
        "@odata.type": "Microsoft.Dynamics.CRM.contact", contactid, telephone1: `555-010${i}`,
      })),
    },
  });
  const rows = await api.retrieveMultiple({ collection: "contacts", select: ["firstname", "telephone1"], orderBy: ["firstname"] });
  assert.deepEqual(rows.value.map((r) => [r.contactid, r.telephone1]), [[created.Ids[0], "555-0100"], [created.Ids[1], "555-0101"]]);
});

test("UpsertMultiple creates the missing and updates the existing; a bad target fails them all", async () => {
  const existing = await api.create({ collection: "contacts", data: { firstname: "Ada" } });
  const fresh = "7d5e0000-0000-4000-8000-000000000001";
  await api.callAction({
    collection: "contacts",
    actionName: "Microsoft.Dynamics.CRM.UpsertMultiple",
    action: {
      Targets: [
        { "@odata.type": "Microsoft.Dynamics.CRM.contact", contactid: existing, lastname: "Lovelace" },
        { "@odata.type": "Microsoft.Dynamics.CRM.contact", contactid: fresh, firstname: "Grace", lastname: "Hopper" },
      ],
    },
  });
  const rows = await allContacts();
  assert.deepEqual(rows.map((r) => [r.contactid, r.firstname, r.lastname]),
    [[existing, "Ada", "Lovelace"], [fresh, "Grace", "Hopper"]]);

  let error;
  try {
    await api.callAction({
      collection: "contacts",
      actionName: "Microsoft.Dynamics.CRM.CreateMultiple",
      action: { Targets: [{ "@odata.type": "Microsoft.Dynamics.CRM.contact", firstname: "Alan" }, { firstname: "NoType" }] },
    });
  } catch (caught) {
    error = caught;
  }
  assert.equal(error?.status, 400, "a target without @odata.type is refused");
  assert.equal((await allContacts()).length, 2, "CreateMultiple is all or nothing");
});
