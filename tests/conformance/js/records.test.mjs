// Create, retrieve, update, delete; upsert by alternate key; lookups bound with @odata.bind;
// appointments with activity parties. Expected results from Microsoft Learn,
// "Create, retrieve, update and delete table rows using the Web API" and its sub-pages.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { GUID, appointmentData, client, rejectsWith, reset, storedRow } from "./support.mjs";

const api = client();
beforeEach(reset);

test("create answers the new id; return=representation answers the row with its etag", async () => {
  const id = await api.create({ collection: "contacts", data: { firstname: "Ada", lastname: "Lovelace" } });
  assert.match(id, GUID);
  const row = await api.create({
    collection: "contacts",
    data: { firstname: "Grace", lastname: "Hopper" },
    returnRepresentation: true,
    select: ["firstname", "lastname", "fullname"],
  });
  assert.match(row.contactid, GUID);
  assert.notEqual(row.contactid, id);
  assert.equal(row.firstname, "Grace");
  assert.equal(row.fullname, "Grace Hopper");
  assert.match(row["@odata.etag"], /^W\/"\d+"$/);
});

test("retrieve by id with $select; update; the etag changes; delete; then 404 0x80040217", async () => {
  const id = await api.create({ collection: "contacts", data: { firstname: "Ada", lastname: "Lovelace" } });
  const before = await api.retrieve({ collection: "contacts", key: id, select: ["firstname", "emailaddress1"] });
  assert.equal(before.contactid, id);
  assert.equal(before.firstname, "Ada");
  assert.equal(before.emailaddress1, null);
  assert.equal(before.lastname, undefined, "$select limits the columns");

  // If-None-Match with the current ETag: 304 Not Modified, no body.
  const unchanged = await api.retrieve({
    collection: "contacts", key: id, select: ["firstname", "emailaddress1"], ifnonematch: before["@odata.etag"],
  });
  assert.ok(unchanged == null || Object.keys(unchanged).length === 0, `304 has no body: ${JSON.stringify(unchanged)}`);

  await api.update({ collection: "contacts", key: id, data: { emailaddress1: "ada@example.com" } });
  const after = await api.retrieve({ collection: "contacts", key: id, select: ["emailaddress1"] });
  assert.equal(after.emailaddress1, "ada@example.com");
  assert.notEqual(after["@odata.etag"], before["@odata.etag"]);
  const changed = await api.retrieve({
    collection: "contacts", key: id, select: ["emailaddress1"], ifnonematch: before["@odata.etag"],
  });
  assert.equal(changed.emailaddress1, "ada@example.com", "a changed row is answered in full");

  // return=representation on update answers the updated row.
  const represented = await api.update({
    collection: "contacts", key: id, data: { lastname: "Lovelace" }, returnRepresentation: true,
    select: ["fullname"],
  });
  assert.equal(represented.fullname, "Ada Lovelace");

  await rejectsWith(
    api.update({ collection: "contacts", key: id, data: { lastname: "B" }, ifmatch: before["@odata.etag"] }),
    412,
    "0x80060882",
  );

  await api.deleteRecord({ collection: "contacts", key: id });
  await rejectsWith(api.retrieve({ collection: "contacts", key: id }), 404, "0x80040217");
  await rejectsWith(api.deleteRecord({ collection: "contacts", key: id }), 404, "0x80040217");
});

test("updateSingleProperty and retrieve of one property", async () => {
  const id = await api.create({ collection: "contacts", data: { firstname: "Ada" } });
  await api.updateSingleProperty({ collection: "contacts", key: id, fieldValuePair: { telephone1: "555-0100" } });
  const row = await api.retrieve({ collection: "contacts", key: id, select: ["telephone1"] });
  assert.equal(row.telephone1, "555-0100");
});

test("upsert by alternate key creates once, then updates the same row", async () => {
  const key = "emailaddress1='ada@example.com'";
  const created = await api.upsert({
    collection: "contacts", key, data: { firstname: "Ada" }, returnRepresentation: true, select: ["firstname"],
  });
  assert.match(created.contactid, GUID);
  const updated = await api.upsert({
    collection: "contacts", key, data: { lastname: "Lovelace" }, returnRepresentation: true,
    select: ["firstname", "lastname", "emailaddress1"],
  });
  assert.equal(updated.contactid, created.contactid);
  assert.equal(updated.firstname, "Ada");
  assert.equal(updated.lastname, "Lovelace");
  assert.equal(updated.emailaddress1, "ada@example.com");
  const byKey = await api.retrieve({ collection: "contacts", key, select: ["contactid"] });
  assert.equal(byKey.contactid, created.contactid);

  // If-None-Match: * prevents the update; If-Match: * prevents the create.
  await rejectsWith(api.upsert({ collection: "contacts", key, data: { lastname: "X" }, ifnonematch: "*" }), 412);
  await rejectsWith(
    api.upsert({ collection: "contacts", key: "emailaddress1='nobody@example.com'", data: { lastname: "X" }, ifmatch: "*" }),
    404,
  );
  const missingId = "00000000-0000-0000-0000-0000000000aa";
  await rejectsWith(
    api.upsert({ collection: "contacts", key: missingId, data: { lastname: "X" }, ifmatch: "*" }), 404, "0x80040217",
  );
});

test("a lookup bound with @odata.bind reads back as _<lookup>_value with its annotations", async () => {
  const contactId = await api.create({ collection: "contacts", data: { firstname: "Ada", lastname: "Lovelace" } });
  const appointmentId = await api.create({
    collection: "appointments",
    data: appointmentData({
      "regardingobjectid_contact_appointment@odata.bind": `/contacts(${contactId})`,
    }),
  });
  const row = await api.retrieve({
    collection: "appointments",
    key: appointmentId,
    select: ["subject", "_regardingobjectid_value", "scheduledstart"],
    includeAnnotations: "*",
  });
  assert.equal(row._regardingobjectid_value, contactId);
  assert.equal(row["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "contact");
  assert.equal(row["_regardingobjectid_value@OData.Community.Display.V1.FormattedValue"], "Ada Lovelace");
  assert.equal(
    row["_regardingobjectid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"],
    "regardingobjectid_contact_appointment",
  );
  // DynamicsWebApi turns ISO date strings into Date objects.
  assert.equal(new Date(row.scheduledstart).toISOString(), "2026-03-02T09:00:00.000Z");

  // Binding a navigation property with the wrong case is refused, as Dataverse refuses it.
  await rejectsWith(
    api.create({
      collection: "appointments",
      data: { subject: "x", "RegardingObjectId_contact_appointment@odata.bind": `/contacts(${contactId})` },
    }),
    400,
    "0x80048d19",
  );
});

test("a customer lookup: parentcustomerid bound to an account, then to a contact", async () => {
  const accountId = await api.create({ collection: "accounts", data: { name: "Contoso" } });
  const parentId = await api.create({ collection: "contacts", data: { firstname: "Parent" } });
  const id = await api.create({
    collection: "contacts",
    data: { firstname: "Ada", "parentcustomerid_account@odata.bind": `/accounts(${accountId})` },
  });
  const read = () => api.retrieve({
    collection: "contacts", key: id, select: ["_parentcustomerid_value"], includeAnnotations: "*",
  });
  let row = await read();
  assert.equal(row._parentcustomerid_value, accountId);
  assert.equal(row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account");
  assert.equal(row["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"], "Contoso");
  await api.update({ collection: "contacts", key: id, data: { "parentcustomerid_contact@odata.bind": `/contacts(${parentId})` } });
  row = await read();
  assert.equal(row._parentcustomerid_value, parentId);
  assert.equal(row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "contact");
});

test("a single-valued navigation property set and cleared through $ref", async () => {
  const accountId = await api.create({ collection: "accounts", data: { name: "Contoso" } });
  const id = await api.create({ collection: "contacts", data: { firstname: "Ada" } });
  await api.associateSingleValued({
    collection: "contacts", primaryKey: id, navigationProperty: "parentcustomerid_account",
    relatedCollection: "accounts", relatedKey: accountId,
  });
  const linked = await api.retrieve({ collection: "contacts", key: id, select: ["_parentcustomerid_value"] });
  assert.equal(linked._parentcustomerid_value, accountId);
  await api.disassociateSingleValued({ collection: "contacts", primaryKey: id, navigationProperty: "parentcustomerid_account" });
  const cleared = await api.retrieve({ collection: "contacts", key: id, select: ["_parentcustomerid_value"] });
  assert.equal(cleared._parentcustomerid_value, null);
});

test("an appointment with activity parties in one deep insert", async () => {
  const contactId = await api.create({ collection: "contacts", data: { firstname: "Ada", lastname: "Lovelace" } });
  const userId = await api.create({ collection: "systemusers", data: { firstname: "Agent", lastname: "Smith" } });
  const appointmentId = await api.create({
    collection: "appointments",
    data: appointmentData({
      appointment_activity_parties: [
        { "partyid_contact@odata.bind": `/contacts(${contactId})`, participationtypemask: 5 },
        { "partyid_systemuser@odata.bind": `/systemusers(${userId})`, participationtypemask: 7 },
      ],
    }),
  });
  const row = await api.retrieve({
    collection: "appointments",
    key: appointmentId,
    select: ["subject"],
    expand: [{ property: "appointment_activity_parties", select: ["participationtypemask", "_partyid_value"] }],
  });
  const parties = row.appointment_activity_parties
    .map((p) => [p.participationtypemask, p._partyid_value])
    .sort((a, b) => a[0] - b[0]);
  assert.deepEqual(parties, [[5, contactId], [7, userId]]);
  const stored = await storedRow("appointments", appointmentId);
  assert.equal(stored.subject, "Advice");
});
