/*
 * "Book appointment" button for lead and contact forms (docs/spec.md#4-the-ribbon-button).
 *
 * Asks the function app for a booking session for the open record, opens the booking page
 * in a new window, and refreshes the timeline when the user comes back to the form.
 * Everything comes from Dataverse environment variables so one solution works in every
 * environment, and the mode follows them:
 *  - entra (new_BookingSpaClientId set, recommended): signs the Dynamics user in with MSAL.js
 *    (the global `msal` of the msal-browser web resource, loaded on the first click when the
 *    command did not load it), silently when possible,
 *    and calls the app with `Authorization: Bearer`; nothing secret is stored in Dynamics.
 *  - key (new_BookingFunctionKey set): calls the app with a function key.
 *  - neither: opens the app's redirect route in the new window, for a function app guarded
 *    by App Service Authentication.
 * Defines one global: BookingButton.
 */
var BookingButton = (function () {
  "use strict";

  var URL_VARIABLE = "new_BookingFunctionUrl";
  var KEY_VARIABLE = "new_BookingFunctionKey";
  var TENANT_VARIABLE = "new_BookingTenantId";
  var CLIENT_ID_VARIABLE = "new_BookingSpaClientId";
  var AUTHORITY_VARIABLE = "new_BookingAuthority";
  var SCOPE_VARIABLE = "new_BookingApiScope";
  var VARIABLES = [URL_VARIABLE, KEY_VARIABLE, TENANT_VARIABLE, CLIENT_ID_VARIABLE, AUTHORITY_VARIABLE, SCOPE_VARIABLE];
  var DEFAULT_AUTHORITY = "https://login.microsoftonline.com";
  /** Blank page that hands the sign-in answer back to this window (msal-browser redirect bridge). */
  var REDIRECT_PAGE = "/WebResources/new_bookingauth.html";
  /** @azure/msal-browser's browser bundle, uploaded as its own web resource. */
  var MSAL_LIBRARY = "/WebResources/new_msalbrowser.js";
  var MAX_RETRY_SECONDS = 3600;
  var NOTIFICATION_ID = "new_bookingbutton";
  var ENTITIES = ["lead", "contact"];
  var TIMELINE_CONTROLS = ["Timeline", "notescontrol"];
  var DEFAULT_TIMEOUT_MS = 30000;

  function UserError(message) {
    this.message = message;
  }

  function notSetUp(message) {
    return new UserError("Booking is not set up: " + message + " Ask your administrator.");
  }

  /** One MSAL client per configuration, kept across clicks so its token cache is reused. */
  var msalClients = {};

  /** Current value of each environment variable, else its default value. */
  function readSettings(xrm) {
    var filter = VARIABLES
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
      var settings = { url: functionBaseUrl(values[URL_VARIABLE]), key: values[KEY_VARIABLE] || "" };
      if (values[CLIENT_ID_VARIABLE]) {
        settings.entra = entraSettings(values, xrm);
        return loginHintOf(xrm).then(function (loginHint) {
          settings.entra.loginHint = loginHint;
          return settings;
        });
      }
      return settings;
    });
  }

  /**
   * The user's sign-in name for MSAL's loginHint: userSettings.userName when it is one (an
   * address), else the user's domainname (the UPN in Dynamics 365 online), since userName is
   * usually the display name. No hint when neither is known: MSAL then uses the only session.
   */
  function loginHintOf(xrm) {
    var userSettings = xrm.Utility.getGlobalContext().userSettings;
    var userName = typeof userSettings.userName === "string" ? userSettings.userName.trim() : "";
    if (userName.indexOf("@") > 0) {
      return Promise.resolve(userName);
    }
    var userId = (userSettings.userId || "").replace(/[{}]/g, "");
    if (!userId) {
      return Promise.resolve("");
    }
    return xrm.WebApi.retrieveRecord("systemuser", userId, "?$select=domainname").then(
      function (user) { return user && typeof user.domainname === "string" ? user.domainname.trim() : ""; },
      function () { return ""; }
    );
  }

  /** An MSAL request for the scope, with the login hint when there is one. */
  function tokenRequest(scopes, loginHint) {
    return loginHint ? { scopes: scopes, loginHint: loginHint } : { scopes: scopes };
  }

  /** Entra mode: the SPA client id is set, so tenant and API scope must be too. */
  function entraSettings(values, xrm) {
    var tenant = values[TENANT_VARIABLE];
    var scope = values[SCOPE_VARIABLE];
    if (!tenant || !/^[A-Za-z0-9.-]+$/.test(tenant)) {
      throw notSetUp("the environment variable " + TENANT_VARIABLE + " needs the Entra ID tenant id.");
    }
    if (!scope) {
      throw notSetUp("the environment variable " + SCOPE_VARIABLE + " needs the booking API's scope (api://.../Booking.Start).");
    }
    var authority = values[AUTHORITY_VARIABLE] || DEFAULT_AUTHORITY;
    var parsed = null;
    try {
      parsed = new URL(authority);
    } catch (e) {
      parsed = null;
    }
    if (!parsed || parsed.protocol !== "https:") {
      throw notSetUp(AUTHORITY_VARIABLE + " must be an https URL.");
    }
    var clientUrl = xrm.Utility.getGlobalContext().getClientUrl().replace(/\/+$/, "");
    return {
      clientId: values[CLIENT_ID_VARIABLE],
      authority: parsed.origin + "/" + tenant,
      // A configured authority is trusted as given: MSAL then skips its instance discovery on
      // login.microsoftonline.com, which knows only Microsoft's own sign-in hosts.
      knownAuthorities: values[AUTHORITY_VARIABLE] ? [parsed.host] : null,
      scope: scope,
      redirectUri: clientUrl + REDIRECT_PAGE,
      library: clientUrl + MSAL_LIBRARY,
    };
  }

  /** https only, except a loopback address during development. */
  function functionBaseUrl(value) {
    if (!value) {
      throw notSetUp("the environment variable " + URL_VARIABLE + " has no value.");
    }
    var parsed;
    try {
      parsed = new URL(value);
    } catch (e) {
      parsed = null;
    }
    var loopback = parsed && (parsed.hostname === "127.0.0.1" || parsed.hostname === "localhost");
    if (!parsed || !(parsed.protocol === "https:" || (parsed.protocol === "http:" && loopback))) {
      throw notSetUp(URL_VARIABLE + " must be an https URL.");
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

  /** Retry-After (or a problem's retryAfter) in words; bounded, an HTTP date or garbage means "a minute". */
  function retryAdvice(response, problem) {
    var seconds = Math.ceil(Number(response.headers.get("Retry-After") || (problem && problem.retryAfter)));
    if (!(seconds > 0)) {
      return " Try again in a minute.";
    }
    seconds = Math.min(seconds, MAX_RETRY_SECONDS);
    if (seconds < 120) {
      return " Try again in " + seconds + (seconds === 1 ? " second." : " seconds.");
    }
    return " Try again in " + Math.ceil(seconds / 60) + " minutes.";
  }

  function detailOf(problem) {
    return problem && typeof problem.detail === "string" && problem.detail ? " (" + problem.detail + ")" : "";
  }

  /** The message a user sees for a failed answer; problem+json detail when the app gave one. */
  function failureMessage(response, problem, entra) {
    var status = response.status;
    if (status === 400) {
      return "The booking service could not use this record" + detailOf(problem) + ".";
    }
    if (entra && status === 401) {
      return "The booking service did not accept your sign-in. Try again; if it keeps happening, ask your administrator to check the booking app registration.";
    }
    if (entra && status === 403) {
      return "Your sign-in does not include permission to start bookings. Ask your administrator to grant the booking API permission to the Dynamics button.";
    }
    if (entra && status === 404) {
      return "You do not have access to this record, so it cannot be booked. Ask the record's owner or your administrator.";
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

  function requestSession(settings, record, timeoutMs, accessToken) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (accessToken) {
      headers.Authorization = "Bearer " + accessToken;
    } else if (settings.key) {
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
              throw new UserError(failureMessage(response, body, Boolean(accessToken)));
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

  function msalClient(msal, entra) {
    var cacheKey = entra.clientId + " " + entra.authority;
    if (!msalClients[cacheKey]) {
      var auth = { clientId: entra.clientId, authority: entra.authority, redirectUri: entra.redirectUri };
      if (entra.knownAuthorities) {
        auth.knownAuthorities = entra.knownAuthorities;
      }
      var client = new msal.PublicClientApplication({ auth: auth, cache: { cacheLocation: "sessionStorage" } });
      msalClients[cacheKey] = Promise.resolve(client.initialize()).then(function () { return client; }, function (error) {
        delete msalClients[cacheKey];
        throw error;
      });
    }
    return msalClients[cacheKey];
  }

  function sameUser(account, loginHint) {
    return Boolean(loginHint) && typeof account.username === "string" &&
      account.username.toLowerCase() === loginHint.toLowerCase();
  }

  /**
   * The Dynamics user's access token for the booking API: from MSAL's cache or the Entra ID
   * session without any prompt; a popup only when MSAL says the user must interact.
   */
  function acquireToken(entra, doc) {
    var scopes = [entra.scope];
    var msal;
    return loadMsal(entra.library, doc).then(function (loaded) {
      msal = loaded;
      return msalClient(msal, entra);
    }).then(function (client) {
      var account = (client.getAllAccounts() || []).filter(function (a) { return sameUser(a, entra.loginHint); })[0];
      var silent = account
        ? client.acquireTokenSilent({ scopes: scopes, account: account })
        : client.ssoSilent(tokenRequest(scopes, entra.loginHint));
      return Promise.resolve(silent).catch(function (error) {
        if (!(msal.InteractionRequiredAuthError && error instanceof msal.InteractionRequiredAuthError)) {
          throw error;
        }
        return client.acquireTokenPopup(tokenRequest(scopes, entra.loginHint));
      });
    }).then(function (result) {
      if (!result || typeof result.accessToken !== "string" || !result.accessToken) {
        throw new UserError("Sign-in did not return a token for the booking service. Try again, or tell your administrator.");
      }
      return result.accessToken;
    }, function (error) {
      throw error instanceof UserError ? error : new UserError(signInFailure(error));
    });
  }

  function loadedMsal() {
    var msal = globalThis.msal;
    return msal && typeof msal.PublicClientApplication === "function" ? msal : null;
  }

  var msalLoading = null;

  /** The global `msal`; when the command did not load the library, add it to the page once. */
  function loadMsal(src, doc) {
    if (loadedMsal()) {
      return Promise.resolve(loadedMsal());
    }
    if (!msalLoading) {
      var missing = notSetUp("the sign-in library (web resource new_msalbrowser.js) could not be loaded.");
      msalLoading = new Promise(function (resolve, reject) {
        var script = doc.createElement("script");
        script.src = src;
        script.onload = function () {
          return loadedMsal() ? resolve(loadedMsal()) : reject(missing);
        };
        script.onerror = function () {
          script.remove();
          reject(missing);
        };
        doc.head.appendChild(script);
      }).catch(function (error) {
        msalLoading = null;
        throw error;
      });
    }
    return msalLoading;
  }

  /** What the user sees when MSAL fails; MSAL errors carry an errorCode. */
  function signInFailure(error) {
    var code = (error && error.errorCode) || "";
    if (code === "user_cancelled") {
      return "Sign-in was cancelled, so the booking page was not opened. Click Book appointment again to sign in.";
    }
    if (code === "popup_window_error" || code === "empty_window_error") {
      return "The sign-in window was blocked by the browser. Allow pop-ups for this Dynamics site and click Book appointment again.";
    }
    if (code === "interaction_in_progress") {
      return "A sign-in window is already open. Finish signing in there, then click Book appointment again.";
    }
    return "Could not sign you in to the booking service" + (code ? " (" + code + ")" : "") +
      ". Try again; if it keeps happening, tell your administrator.";
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
    var doc = (options && options.document) || win.document;
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
        if (settings.entra) {
          return acquireToken(settings.entra, doc).then(function (accessToken) {
            return requestSession(settings, record, timeoutMs, accessToken);
          });
        }
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
