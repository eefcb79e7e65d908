// Table and column definitions, alternate keys, relationships and WhoAmI. Expected results
// from Microsoft Learn, "Query table definitions using the Web API" and the WhoAmI function
// reference.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { GUID, apiUrl, client, reset } from "./support.mjs";

const api = client();
beforeEach(reset);

test("EntityDefinitions(LogicalName='contact') names the entity set, key and primary name", async () => {
  const contact = await api.retrieveEntity({
    key: "LogicalName='contact'",
    select: ["LogicalName", "EntitySetName", "LogicalCollectionName", "PrimaryIdAttribute",
      "PrimaryNameAttribute", "ObjectTypeCode", "MetadataId"],
  });
  assert.equal(contact.LogicalName, "contact");
  assert.equal(contact.EntitySetName, "contacts");
  assert.equal(contact.LogicalCollectionName, "contacts");
  assert.equal(contact.PrimaryIdAttribute, "contactid");
  assert.equal(contact.PrimaryNameAttribute, "fullname");
  assert.equal(contact.ObjectTypeCode, 2);
  assert.match(contact.MetadataId, GUID);
  const byId = await api.retrieveEntity({ key: contact.MetadataId, select: ["LogicalName"] });
  assert.equal(byId.LogicalName, "contact");
});

test("EntityDefinitions with $filter, as the Python SDK resolves a table", async () => {
  const found = await api.retrieveEntities({
    select: ["LogicalName", "EntitySetName", "PrimaryIdAttribute"],
    filter: "LogicalName eq 'appointment' or LogicalName eq 'lead'",
  });
  const byName = Object.fromEntries(found.value.map((t) => [t.LogicalName, [t.EntitySetName, t.PrimaryIdAttribute]]));
  assert.deepEqual(byName, { appointment: ["appointments", "activityid"], lead: ["leads", "leadid"] });
  const none = await api.retrieveEntities({ select: ["LogicalName"], filter: "LogicalName eq 'nosuchtable'" });
  assert.deepEqual(none.value, []);
});

test("Attributes: types, lengths and the option sets of picklist and state columns", async () => {
  const email = await api.retrieveAttribute({
    entityKey: "LogicalName='contact'", attributeKey: "LogicalName='emailaddress1'",
    castType: "Microsoft.Dynamics.CRM.StringAttributeMetadata", select: ["LogicalName", "AttributeType", "MaxLength"],
  });
  assert.equal(email.AttributeType, "String");
  assert.equal(email.MaxLength, 100);

  const picklists = await api.retrieveAttributes({
    entityKey: "LogicalName='activityparty'",
    castType: "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    select: ["LogicalName"],
    expand: [{ property: "OptionSet", select: ["Options"] }],
  });
  const mask = picklists.value.find((a) => a.LogicalName === "participationtypemask");
  assert.ok(mask, `participationtypemask among ${picklists.value.map((a) => a.LogicalName)}`);
  const labels = Object.fromEntries(mask.OptionSet.Options.map((o) => [o.Value, o.Label.UserLocalizedLabel.Label]));
  assert.equal(labels[5], "Required attendee");
  assert.equal(labels[7], "Organizer");

  const state = await api.retrieveAttribute({
    entityKey: "LogicalName='contact'", attributeKey: "LogicalName='statecode'",
    castType: "Microsoft.Dynamics.CRM.StateAttributeMetadata", select: ["LogicalName"],
    expand: [{ property: "OptionSet", select: ["Options"] }],
  });
  assert.deepEqual(state.OptionSet.Options.map((o) => [o.Value, o.Label.UserLocalizedLabel.Label]),
    [[0, "Active"], [1, "Inactive"]]);
});

test("Keys and ManyToOne relationships with their navigation property names", async () => {
  const contact = await api.retrieveEntity({
    key: "LogicalName='contact'", select: ["LogicalName"],
    expand: [{ property: "Keys", select: ["KeyAttributes"] }],
  });
  assert.deepEqual(contact.Keys.map((k) => k.KeyAttributes), [["emailaddress1"]]);

  const appointment = await api.retrieveEntity({
    key: "LogicalName='appointment'", select: ["LogicalName"],
    expand: [{
      property: "ManyToOneRelationships",
      select: ["ReferencingAttribute", "ReferencedEntity", "ReferencingEntityNavigationPropertyName"],
    }],
  });
  const toContact = appointment.ManyToOneRelationships.find(
    (r) => r.ReferencingAttribute === "regardingobjectid" && r.ReferencedEntity === "contact",
  );
  assert.equal(toContact?.ReferencingEntityNavigationPropertyName, "regardingobjectid_contact_appointment");

  const leadToMany = await api.retrieveEntity({
    key: "LogicalName='lead'", select: ["LogicalName"],
    expand: [{ property: "OneToManyRelationships", select: ["ReferencingEntity", "ReferencedEntityNavigationPropertyName"] }],
  });
  assert.ok(leadToMany.OneToManyRelationships.some(
    (r) => r.ReferencingEntity === "appointment" && r.ReferencedEntityNavigationPropertyName === "Lead_Appointments",
  ));
});

test("$metadata is the CSDL document naming entity types, keys and navigation properties", async () => {
  const csdl = await api.retrieveCsdlMetadata();
  assert.match(csdl, /<edmx:Edmx[^>]*Version="4.0"/);
  assert.match(csdl, /<EntityType Name="contact"/);
  assert.match(csdl, /<PropertyRef Name="contactid"\s*\/>/);
  assert.match(csdl, /<NavigationProperty Name="regardingobjectid_contact_appointment"/);
});

test("WhoAmI answers the caller's user, business unit and organization", async () => {
  const me = await api.callFunction({ name: "WhoAmI" });
  assert.match(me.UserId, GUID);
  assert.match(me.BusinessUnitId, GUID);
  assert.match(me.OrganizationId, GUID);
  assert.equal(me["@odata.context"], `${apiUrl}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`);
  const user = await api.retrieve({ collection: "systemusers", key: me.UserId, select: ["systemuserid"] });
  assert.equal(user.systemuserid, me.UserId);
});
