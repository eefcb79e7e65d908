// Queries: $filter, $orderby, $top, $count, paging with odata.maxpagesize, annotations,
// $expand, FetchXML. Expected results from Microsoft Learn, "Query data using the Web API"
// and "Use FetchXml to query data".
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { apiUrl, appointmentData, client, reset, serverUrl } from "./support.mjs";

const api = client();
const people = [
  ["Ada", "Lovelace", "ada@example.com"],
  ["Grace", "Hopper", "grace@example.com"],
  ["Alan", "Turing", null],
  ["Edsger", "Dijkstra", "edsger@example.com"],
  ["Barbara", "Liskov", "barbara@example.com"],
];

async function seedPeople() {
  const ids = {};
  for (const [firstname, lastname, emailaddress1] of people) {
    ids[firstname] = await api.create({ collection: "contacts", data: { firstname, lastname, emailaddress1 } });
  }
  return ids;
}

const firstNames = (response) => response.value.map((row) => row.firstname);

beforeEach(reset);

test("$filter with comparison, string functions, In, null and and/or/not", async () => {
  await seedPeople();
  const query = (filter) =>
    api.retrieveMultiple({ collection: "contacts", select: ["firstname"], filter, orderBy: ["firstname"] });
  assert.deepEqual(firstNames(await query("lastname eq 'Hopper'")), ["Grace"]);
  assert.deepEqual(firstNames(await query("lastname eq 'HOPPER'")), ["Grace"], "string comparison ignores case");
  assert.deepEqual(firstNames(await query("startswith(firstname,'A')")), ["Ada", "Alan"]);
  assert.deepEqual(firstNames(await query("contains(lastname,'kst')")), ["Edsger"]);
  assert.deepEqual(firstNames(await query("endswith(emailaddress1,'@example.com') and not startswith(firstname,'B')")),
    ["Ada", "Edsger", "Grace"]);
  assert.deepEqual(firstNames(await query("emailaddress1 eq null")), ["Alan"]);
  assert.deepEqual(firstNames(await query("firstname eq 'Ada' or (lastname ne 'Turing' and startswith(lastname,'L'))")),
    ["Ada", "Barbara"]);
  assert.deepEqual(
    firstNames(await query(`Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=["Turing","Liskov"])`)),
    ["Alan", "Barbara"],
  );
});

test("$orderby on several columns, $top", async () => {
  await seedPeople();
  await api.create({ collection: "contacts", data: { firstname: "Ada", lastname: "Byron" } });
  const ordered = await api.retrieveMultiple({
    collection: "contacts", select: ["firstname", "lastname"], orderBy: ["firstname desc", "lastname"],
  });
  assert.deepEqual(ordered.value.map((r) => `${r.firstname} ${r.lastname}`),
    ["Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Alan Turing", "Ada Byron", "Ada Lovelace"]);
  const top = await api.retrieveMultiple({ collection: "contacts", select: ["lastname"], orderBy: ["lastname"], top: 2 });
  assert.deepEqual(top.value.map((r) => r.lastname), ["Byron", "Dijkstra"]);
  assert.equal(top.oDataNextLink, undefined, "$top answers no next link");
});

test("$count=true answers @odata.count; /$count answers the number", async () => {
  await seedPeople();
  const counted = await api.retrieveMultiple({
    collection: "contacts", select: ["firstname"], filter: "startswith(firstname,'A')", count: true,
  });
  assert.equal(counted.oDataCount, 2);
  assert.equal(counted.value.length, 2);
  const paged = await api.retrieveMultiple({ collection: "contacts", select: ["firstname"], count: true, maxPageSize: 2 });
  assert.equal(paged.oDataCount, 5, "@odata.count counts every matching row, not the page");
  assert.equal(paged.value.length, 2);
  assert.equal(await api.count({ collection: "contacts" }), 5);
  assert.equal(await api.count({ collection: "contacts", filter: "emailaddress1 ne null" }), 4);
});

test("odata.maxpagesize pages with @odata.nextLink; retrieveAll follows every page", async () => {
  await seedPeople();
  const first = await api.retrieveMultiple({
    collection: "contacts", select: ["firstname"], orderBy: ["firstname"], maxPageSize: 2,
  });
  assert.deepEqual(firstNames(first), ["Ada", "Alan"]);
  assert.ok(first.oDataNextLink, "a page that is not the last one carries @odata.nextLink");
  assert.match(first.oDataNextLink, /\$skiptoken=/);
  const second = await api.retrieveMultiple({ collection: "contacts", maxPageSize: 2 }, first.oDataNextLink);
  assert.deepEqual(firstNames(second), ["Barbara", "Edsger"]);
  const all = await api.retrieveAll({ collection: "contacts", select: ["firstname"], orderBy: ["firstname"], maxPageSize: 2 });
  assert.deepEqual(firstNames(all), ["Ada", "Alan", "Barbara", "Edsger", "Grace"]);
});

test("links follow the request: @odata.context and @odata.nextLink use the client's scheme and host", async () => {
  await seedPeople();
  const page = await api.retrieveMultiple({ collection: "contacts", select: ["firstname"], maxPageSize: 2 });
  assert.ok(page.oDataContext.startsWith(`${apiUrl}$metadata#contacts`), `@odata.context: ${page.oDataContext}`);
  assert.ok(page.oDataNextLink.startsWith(`${apiUrl}contacts?`), `@odata.nextLink: ${page.oDataNextLink}`);
  const id = await api.create({ collection: "contacts", data: { firstname: "Linus" } });
  const row = await api.retrieve({ collection: "contacts", key: id, select: ["firstname"] });
  assert.equal(row["@odata.context"], `${apiUrl}$metadata#contacts(firstname)/$entity`);
  assert.ok(serverUrl.startsWith("https://"));
});

test("annotations: formatted values of choices and lookups", async () => {
  const ids = await seedPeople();
  const row = await api.retrieve({
    collection: "contacts", key: ids.Ada, select: ["statecode", "statuscode"],
    includeAnnotations: "OData.Community.Display.V1.FormattedValue",
  });
  assert.equal(row.statecode, 0);
  assert.equal(row["statecode@OData.Community.Display.V1.FormattedValue"], "Active");
  assert.equal(row["statuscode@OData.Community.Display.V1.FormattedValue"], "Active");
  // DynamicsWebApi also exposes them under its own short names.
  assert.equal(row.statecode_Formatted, "Active");
  const plain = await api.retrieve({ collection: "contacts", key: ids.Ada, select: ["statecode"] });
  assert.equal(plain["statecode@OData.Community.Display.V1.FormattedValue"], undefined, "no annotations unless asked");
});

test("$expand of a single-valued and a collection-valued navigation property", async () => {
  const ids = await seedPeople();
  for (const [subject, start] of [["First", "2026-03-02T09:00:00Z"], ["Second", "2026-03-03T09:00:00Z"]]) {
    await api.create({
      collection: "appointments",
      data: {
        subject, scheduledstart: start, scheduledend: start.replace("09:00", "09:30"),
        "regardingobjectid_contact_appointment@odata.bind": `/contacts(${ids.Ada})`,
      },
    });
  }
  const contact = await api.retrieve({
    collection: "contacts", key: ids.Ada, select: ["fullname"],
    expand: [{ property: "Contact_Appointments", select: ["subject"], orderBy: ["scheduledstart desc"] }],
  });
  assert.deepEqual(contact.Contact_Appointments.map((a) => a.subject), ["Second", "First"]);

  const later = await api.retrieveMultiple({
    collection: "appointments", select: ["subject"], filter: "scheduledstart ge 2026-03-03T00:00:00Z",
  });
  assert.deepEqual(later.value.map((a) => a.subject), ["Second"], "date-time literals compare as instants");

  const appointments = await api.retrieveMultiple({
    collection: "appointments", select: ["subject"], orderBy: ["subject"],
    expand: [{ property: "regardingobjectid_contact_appointment", select: ["fullname"] }],
  });
  assert.deepEqual(appointments.value.map((a) => a.regardingobjectid_contact_appointment.fullname),
    ["Ada Lovelace", "Ada Lovelace"]);
});

test("FetchXML: attributes, filter, order, top, link-entity and an aggregate count", async () => {
  const ids = await seedPeople();
  await api.create({
    collection: "appointments",
    data: appointmentData({
      "regardingobjectid_contact_appointment@odata.bind": `/contacts(${ids.Grace})`,
    }),
  });
  const filtered = await api.fetch({
    collection: "contacts",
    fetchXml: `<fetch><entity name="contact"><attribute name="firstname"/><attribute name="lastname"/>
      <filter type="or"><condition attribute="lastname" operator="eq" value="Turing"/>
        <condition attribute="firstname" operator="like" value="Ed%"/></filter>
      <order attribute="lastname" descending="true"/></entity></fetch>`,
  });
  assert.deepEqual(filtered.value.map((r) => r.lastname), ["Turing", "Dijkstra"]);

  const top = await api.fetch({
    collection: "contacts",
    fetchXml: `<fetch top="2"><entity name="contact"><attribute name="firstname"/>
      <order attribute="firstname"/></entity></fetch>`,
  });
  assert.deepEqual(firstNames(top), ["Ada", "Alan"]);

  const linked = await api.fetch({
    collection: "appointments",
    fetchXml: `<fetch><entity name="appointment"><attribute name="subject"/>
      <link-entity name="contact" from="contactid" to="regardingobjectid" link-type="inner" alias="who">
        <attribute name="lastname"/></link-entity></entity></fetch>`,
  });
  assert.equal(linked.value.length, 1);
  assert.equal(linked.value[0].subject, "Advice");
  assert.equal(linked.value[0]["who.lastname"], "Hopper");

  const counted = await api.fetch({
    collection: "contacts",
    fetchXml: `<fetch aggregate="true"><entity name="contact">
      <attribute name="contactid" alias="total" aggregate="count"/>
      <filter><condition attribute="emailaddress1" operator="not-null"/></filter></entity></fetch>`,
  });
  assert.equal(counted.value.length, 1);
  assert.equal(counted.value[0].total, 4);
});

test("FetchXML paging: count + page with the paging cookie; fetchAll collects every page", async () => {
  await seedPeople();
  const xml = `<fetch count="2"><entity name="contact"><attribute name="firstname"/>
    <order attribute="firstname"/></entity></fetch>`;
  const includeAnnotations = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie";
  const first = await api.fetch({ collection: "contacts", fetchXml: xml, pageNumber: 1, includeAnnotations });
  assert.deepEqual(firstNames(first), ["Ada", "Alan"]);
  assert.equal(first.PagingInfo?.nextPage, 2, `PagingInfo: ${JSON.stringify(first.PagingInfo)}`);
  assert.ok(first.PagingInfo.cookie, "a page that is not the last one carries a paging cookie");
  const second = await api.fetch({
    collection: "contacts", fetchXml: xml, pageNumber: 2, pagingCookie: first.PagingInfo.cookie, includeAnnotations,
  });
  assert.deepEqual(firstNames(second), ["Barbara", "Edsger"]);
  const all = await api.fetchAll({ collection: "contacts", fetchXml: xml, includeAnnotations });
  assert.deepEqual(firstNames(all), ["Ada", "Alan", "Barbara", "Edsger", "Grace"]);
});
