"use strict";
/*
 * A small stand-in for the Dynamics client API: just the calls the button makes, recording
 * what it was asked to do so tests can check the user-visible effect. node tests require()
 * it; the browser test's Dynamics form page (tests/system/browser/dynamics_form.py) loads it
 * as a script, where it defines the global FakeXrm.
 */

/** Environment variable definitions as Dataverse returns them with the values expanded. */
function definition(schemaname, defaultvalue, currentValue) {
  return {
    schemaname: schemaname,
    defaultvalue: defaultvalue,
    environmentvariabledefinition_environmentvariablevalue:
      currentValue === undefined ? [] : [{ value: currentValue }],
  };
}

/**
 * `userName` is what userSettings.userName gives (in Dynamics usually the display name);
 * `users` maps systemuser ids to their records (domainname is the sign-in name online).
 */
function createXrm({
  variables = [],
  clientUrl = "https://contoso.crm.dynamics.com",
  userName = "alex@contoso.example",
  userId = "{3B1C8E1A-0000-4000-8000-00000000A1E5}",
  users = {},
} = {}) {
  const calls = { queries: [], retrieved: [], opened: [], progress: [] };
  const Xrm = {
    WebApi: {
      async retrieveMultipleRecords(entityLogicalName, options) {
        calls.queries.push({ entityLogicalName, options });
        if (entityLogicalName !== "environmentvariabledefinition") {
          throw new Error("unexpected entity " + entityLogicalName);
        }
        const filter = decodeURIComponent(/\$filter=([^&]*)/.exec(options)[1]);
        const entities = variables.filter((v) => filter.includes(`schemaname eq '${v.schemaname}'`));
        if (!options.includes("$expand=environmentvariabledefinition_environmentvariablevalue")) {
          entities.forEach((e) => delete e.environmentvariabledefinition_environmentvariablevalue);
        }
        return { entities };
      },
      async retrieveRecord(entityLogicalName, id, options) {
        calls.retrieved.push({ entityLogicalName, id, options });
        const record = entityLogicalName === "systemuser" ? users[id] : undefined;
        if (!record) {
          throw { errorCode: 0x80040217, message: `${entityLogicalName} With Id = ${id} Does Not Exist` };
        }
        return record;
      },
    },
    Navigation: {
      openUrl(url, options) {
        calls.opened.push({ url, options });
      },
    },
    Utility: {
      getGlobalContext: () => ({
        getClientUrl: () => clientUrl,
        userSettings: { userName, userId },
      }),
      showProgressIndicator(message) {
        calls.progress.push(["show", message]);
      },
      closeProgressIndicator() {
        calls.progress.push(["close"]);
      },
    },
  };
  return { Xrm, calls };
}

/** A lead/contact form: entity, id (with braces, upper case, as Dynamics gives it), dirty flag. */
function createForm({ entity = "lead", id = "{0F8FAD5B-D9CB-469F-A165-70867728950E}", dirty = false, saveError = null, timeline = true } = {}) {
  const state = { notifications: new Map(), saves: 0, timelineRefreshes: 0, dataRefreshes: 0, dirty };
  const controls = new Map();
  if (timeline) {
    controls.set("Timeline", { refresh: () => { state.timelineRefreshes += 1; } });
  }
  const formContext = {
    data: {
      entity: {
        getEntityName: () => entity,
        getId: () => id,
        getIsDirty: () => state.dirty,
      },
      save: async () => {
        state.saves += 1;
        if (saveError) {
          throw saveError;
        }
        state.dirty = false;
      },
      refresh: async () => {
        state.dataRefreshes += 1;
      },
    },
    ui: {
      setFormNotification(message, level, uniqueId) {
        state.notifications.set(uniqueId, { message, level });
        return true;
      },
      clearFormNotification(uniqueId) {
        return state.notifications.delete(uniqueId);
      },
      controls: { get: (name) => controls.get(name) || null },
    },
  };
  return { formContext, state };
}

if (typeof module === "object" && module.exports) {
  module.exports = { createXrm, createForm, definition };
} else {
  globalThis.FakeXrm = { createXrm, createForm, definition };
}
