"use strict";
/*
 * The Dynamics client API for the button's tests: the xrm-mock package's objects (Xrm,
 * formContext, entity, form notifications, controls, Navigation.openUrl's record, user
 * settings), extended only where xrm-mock leaves a call the button makes unimplemented:
 *  - Xrm.WebApi.retrieveMultipleRecords / retrieveRecord (xrm-mock throws "not implemented"):
 *    the environment variable definitions and systemuser records of the test, on xrm-mock's
 *    online Web API object, which Xrm.WebApi calls for an online client;
 *  - Xrm.Utility.showProgressIndicator / closeProgressIndicator (xrm-mock throws): recorded;
 *  - formContext.data.save / refresh (xrm-mock throws) and the Timeline control's refresh
 *    (xrm-mock's TimelineWallMock throws): counted, save can fail like Dynamics' save does;
 *  - a new record's id: Dynamics' getId() gives "" before the first save, xrm-mock's EntityMock
 *    replaces an empty id by its default one.
 * node tests require() it (with require("xrm-mock")); the browser test's form page
 * (tests/system/browser/dynamics_form.py) loads it as a script after xrm-mock's one-file
 * browser build (xrm-mock/build/index.js) and amd-loader.js, and it defines the global DynamicsXrm.
 *
 * xrm-mock's XrmMockGenerator is a singleton: Xrm.Utility.getGlobalContext() answers the context
 * of the last createXrm(), so a test uses one Xrm at a time.
 */
(function (factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory(require("xrm-mock"));
  } else {
    globalThis.DynamicsXrm = factory(globalThis.amdRequire("xrm-mock"));
  }
})(function (XrmMock) {
  var NOTIFICATION_ID = "new_bookingbutton";

  /** An environment variable definition as Dataverse returns it with its current value expanded. */
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
   * `calls.opened` is xrm-mock's own record of Xrm.Navigation.openUrl ({url, openUrlOptions}).
   */
  function createXrm(options) {
    var o = options || {};
    var variables = o.variables || [];
    var users = o.users || {};
    var context = new XrmMock.ContextMock({
      clientContext: new XrmMock.ClientContextMock("Web", "Online"),
      clientUrl: o.clientUrl || "https://contoso.crm.dynamics.com",
      userSettings: new XrmMock.UserSettingsMock({
        userName: o.userName === undefined ? "alex@contoso.example" : o.userName,
        userId: o.userId || "{3B1C8E1A-0000-4000-8000-00000000A1E5}",
        securityRoles: [],
      }),
    });
    var Xrm = XrmMock.XrmMockGenerator.initialise({ context: context });
    var calls = { queries: [], retrieved: [], progress: [], opened: Xrm.Navigation.urlCalls };

    var online = Xrm.WebApi.online;
    online.retrieveMultipleRecords = function (entityLogicalName, query) {
      calls.queries.push({ entityLogicalName: entityLogicalName, options: query });
      if (entityLogicalName !== "environmentvariabledefinition") {
        return Promise.reject(new Error("unexpected entity " + entityLogicalName));
      }
      var filter = decodeURIComponent(/\$filter=([^&]*)/.exec(query)[1]);
      var expand = query.indexOf("$expand=environmentvariabledefinition_environmentvariablevalue") >= 0;
      var entities = variables
        .filter(function (v) { return filter.indexOf("schemaname eq '" + v.schemaname + "'") >= 0; })
        .map(function (v) {
          var entity = Object.assign({}, v);
          if (!expand) {
            delete entity.environmentvariabledefinition_environmentvariablevalue;
          }
          return entity;
        });
      return Promise.resolve({ entities: entities });
    };
    online.retrieveRecord = function (entityLogicalName, id, query) {
      calls.retrieved.push({ entityLogicalName: entityLogicalName, id: id, options: query });
      var record = entityLogicalName === "systemuser" ? users[id] : undefined;
      if (!record) {
        return Promise.reject({ errorCode: 0x80040217, message: entityLogicalName + " With Id = " + id + " Does Not Exist" });
      }
      return Promise.resolve(record);
    };
    Xrm.Utility.showProgressIndicator = function (message) {
      calls.progress.push(["show", message]);
    };
    Xrm.Utility.closeProgressIndicator = function () {
      calls.progress.push(["close"]);
    };
    return { Xrm: Xrm, calls: calls };
  }

  /**
   * A lead/contact form: entity, id (with braces, upper case, as Dynamics gives it; "" for a
   * record not saved yet), unsaved changes (a dirty lastname attribute), a failing save, and
   * whether the form has a Timeline control.
   */
  function createForm(options) {
    var o = options || {};
    var id = o.id === undefined ? "{0F8FAD5B-D9CB-469F-A165-70867728950E}" : o.id;
    var state = { saves: 0, timelineRefreshes: 0, dataRefreshes: 0 };
    var lastname = new XrmMock.StringAttributeMock({ name: "lastname", value: "Diaz", isDirty: Boolean(o.dirty) });
    var entity = new XrmMock.EntityMock({
      entityName: o.entity || "lead",
      id: id,
      attributes: new XrmMock.ItemCollectionMock([lastname]),
    });
    entity.id = id;
    var data = new XrmMock.DataMock(entity);
    data.save = function () {
      state.saves += 1;
      if (o.saveError) {
        return Promise.reject(o.saveError);
      }
      entity.attributes.forEach(function (attribute) { attribute.isDirty = false; });
      return Promise.resolve();
    };
    data.refresh = function () {
      state.dataRefreshes += 1;
      return Promise.resolve();
    };
    var controls = [];
    if (o.timeline !== false) {
      var timeline = new XrmMock.TimelineWallMock({ name: "Timeline", controlType: "timelinewall" });
      timeline.refresh = function () {
        state.timelineRefreshes += 1;
      };
      controls.push(timeline);
    }
    var ui = new XrmMock.UiMock({ controls: new XrmMock.ItemCollectionMock(controls) });
    return { formContext: new XrmMock.FormContextMock(data, ui), state: state };
  }

  /** The button's form notification ({message, level, uniqueId}) in xrm-mock's list, if shown. */
  function notificationOf(formContext) {
    return (formContext.ui.formNotifications || []).filter(function (n) { return n.uniqueId === NOTIFICATION_ID; })[0];
  }

  return { createXrm: createXrm, createForm: createForm, definition: definition, notificationOf: notificationOf };
});
