/*
 * "Book appointment" button for lead and contact forms (docs/spec.md#4-the-ribbon-button).
 *
 * Asks the function app for a booking session for the open record, opens the booking page
 * in a new window, and refreshes the timeline when the user comes back to the form.
 * The function URL and key come from Dataverse environment variables so one solution works
 * in every environment. Without a key the button opens the app's redirect route in the new
 * window instead, for a function app guarded by App Service Authentication (Entra ID sign-in,
 * no secret in the browser). Defines one global: BookingButton.
 */
var BookingButton = (function () {
  "use strict";

  var URL_VARIABLE = "new_BookingFunctionUrl";
  var KEY_VARIABLE = "new_BookingFunctionKey";
  var NOTIFICATION_ID = "new_bookingbutton";
  var ENTITIES = ["lead", "contact"];
  var TIMELINE_CONTROLS = ["Timeline", "notescontrol"];
  var DEFAULT_TIMEOUT_MS = 30000;

  function UserError(message) {
    this.message = message;
  }

  /** Current value of each environment variable, else its default value. */
  function readSettings(xrm) {
    var filter = [URL_VARIABLE, KEY_VARIABLE]
      .map(function (name) { return "schemaname eq '" + name.replace(/'/g, "''") + "'"; })
      .join(" or ");
    var query =
      "?$select=schemaname,defaultvalue&$filter=" + filter +
      "&$expand=environmentvariabledefinition_environmentvariablevalue($select=value)";
    return xrm.WebApi.retrieveMultipleRecords("environmentvariabledefinition", query).then(function (result) {
      var values = {};
      (result.entities || []).forEach(function (definition) {
        var current = definition.environmentvariabledefinition_environmentvariablevalue || [];
        var value = current.length > 0 && current[0].value ? current[0].value : definition.defaultvalue;
        values[definition.schemaname] = typeof value === "string" ? value.trim() : "";
      });
      return { url: functionBaseUrl(values[URL_VARIABLE]), key: values[KEY_VARIABLE] || "" };
    });
  }

  /** https only, except a loopback address during development. */
  function functionBaseUrl(value) {
    if (!value) {
      throw new UserError("Booking is not set up: the environment variable " + URL_VARIABLE + " has no value. Ask your administrator.");
    }
    var parsed;
    try {
      parsed = new URL(value);
    } catch (e) {
      parsed = null;
    }
    var loopback = parsed && (parsed.hostname === "127.0.0.1" || parsed.hostname === "localhost");
    if (!parsed || !(parsed.protocol === "https:" || (parsed.protocol === "http:" && loopback))) {
      throw new UserError("Booking is not set up: " + URL_VARIABLE + " must be an https URL. Ask your administrator.");
    }
    return parsed.origin + parsed.pathname.replace(/\/+$/, "");
  }

  function regarding(formContext) {
    var entity = formContext.data.entity.getEntityName();
    if (ENTITIES.indexOf(entity) < 0) {
      throw new UserError("Booking is available on lead and contact forms only.");
    }
    var id = (formContext.data.entity.getId() || "").replace(/[{}]/g, "").toLowerCase();
    if (!id) {
      throw new UserError("Save the record before booking an appointment.");
    }
    return { entity: entity, id: id };
  }

  function retryAdvice(response, problem) {
    var seconds = Number(response.headers.get("Retry-After") || (problem && problem.retryAfter));
    return seconds > 0 ? " Try again in " + Math.ceil(seconds) + " seconds." : " Try again in a minute.";
  }

  function detailOf(problem) {
    return problem && typeof problem.detail === "string" && problem.detail ? " (" + problem.detail + ")" : "";
  }

  /** The message a user sees for a failed answer; problem+json detail when the app gave one. */
  function failureMessage(response, problem) {
    var status = response.status;
    if (status === 400) {
      return "The booking service could not use this record" + detailOf(problem) + ".";
    }
    if (status === 401 || status === 403) {
      return "The booking service refused the call: the function key (" + KEY_VARIABLE + ") is missing or wrong. Ask your administrator.";
    }
    if (status === 404) {
      return "The booking service could not find this record in Dynamics. Save the record and try again.";
    }
    if (status === 502) {
      return "The booking system answered with an error" + detailOf(problem) + "." + retryAdvice(response, problem);
    }
    if (status === 503 || status === 504 || status === 429) {
      return "The booking service is busy or unavailable." + retryAdvice(response, problem);
    }
    return "The booking service answered with status " + status + detailOf(problem) + ".";
  }

  function readJson(response) {
    return response.text().then(function (text) {
      try {
        return JSON.parse(text);
      } catch (e) {
        return null;
      }
    });
  }

  function requestSession(settings, record, timeoutMs) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (settings.key) {
      headers["x-functions-key"] = settings.key;
    }
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, timeoutMs);
    return fetch(settings.url + "/api/booking-sessions", {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ regarding: record }),
      signal: controller.signal,
    })
      .then(
        function (response) {
          return readJson(response).then(function (body) {
            if (!response.ok) {
              throw new UserError(failureMessage(response, body));
            }
            return redirectUrlOf(body);
          });
        },
        function (error) {
          if (error && error.name === "AbortError") {
            throw new UserError("The booking service did not answer in time. Try again in a minute.");
          }
          throw new UserError("Could not reach the booking service (network or CORS). Check your connection and try again.");
        }
      )
      .finally(function () { clearTimeout(timer); });
  }

  function redirectUrlOf(body) {
    var url = body && typeof body.redirectUrl === "string" ? body.redirectUrl : "";
    var parsed = null;
    try {
      parsed = new URL(url);
    } catch (e) {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
      throw new UserError("The booking service gave an unexpected answer. Try again, or tell your administrator.");
    }
    return parsed.href;
  }

  function refreshTimeline(formContext) {
    for (var i = 0; i < TIMELINE_CONTROLS.length; i++) {
      var control = formContext.ui.controls.get(TIMELINE_CONTROLS[i]);
      if (control && typeof control.refresh === "function") {
        control.refresh();
        return;
      }
    }
    formContext.data.refresh(false);
  }

  /** Top-level navigation to GET /api/booking-sessions/redirect: App Service Authentication signs the user in. */
  function redirectRoute(settings, record) {
    return settings.url + "/api/booking-sessions/redirect?entity=" + encodeURIComponent(record.entity) +
      "&id=" + encodeURIComponent(record.id);
  }

  /** Refresh once, the first time the user is back on this window. */
  function refreshWhenBack(formContext, win) {
    win.addEventListener("focus", function () { refreshTimeline(formContext); }, { once: true });
  }

  /**
   * Command action (CrmParameter PrimaryControl). Resolves when the booking page was opened
   * or the failure was shown on the form; never rejects.
   */
  function open(primaryControl, options) {
    var xrm = Xrm;
    var formContext = primaryControl;
    var timeoutMs = (options && options.timeoutMs) || DEFAULT_TIMEOUT_MS;
    var win = (options && options.window) || window;
    formContext.ui.clearFormNotification(NOTIFICATION_ID);
    var record;
    try {
      record = regarding(formContext);
    } catch (error) {
      formContext.ui.setFormNotification(error.message, "WARNING", NOTIFICATION_ID);
      return Promise.resolve(false);
    }
    xrm.Utility.showProgressIndicator("Opening the booking page...");
    var saved = formContext.data.entity.getIsDirty() ? formContext.data.save() : Promise.resolve();
    return Promise.resolve(saved)
      .then(function () { return readSettings(xrm); })
      .then(function (settings) {
        return settings.key ? requestSession(settings, record, timeoutMs) : redirectRoute(settings, record);
      })
      .then(function (redirectUrl) {
        xrm.Utility.closeProgressIndicator();
        refreshWhenBack(formContext, win);
        xrm.Navigation.openUrl(redirectUrl, { width: 1000, height: 800 });
        return true;
      })
      .catch(function (error) {
        xrm.Utility.closeProgressIndicator();
        var message = error instanceof UserError
          ? error.message
          : "Could not start the booking: " + ((error && error.message) || "unexpected error") + ".";
        formContext.ui.setFormNotification(message, "ERROR", NOTIFICATION_ID);
        return false;
      });
  }

  /** Enable rule: only saved records can be booked. */
  function isEnabled(primaryControl) {
    var id = primaryControl && primaryControl.data.entity.getId();
    return Boolean(id);
  }

  return { open: open, isEnabled: isEnabled };
})();
