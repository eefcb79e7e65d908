"use strict";
/*
 * A stand-in for the global `msal` object of @azure/msal-browser: the classes and calls the
 * button uses, with each call's outcome chosen per test. It records what it was asked.
 * Errors carry `errorCode` like MSAL's, and interaction-required ones are instances of
 * InteractionRequiredAuthError, which is what the button checks.
 */

class AuthError extends Error {
  constructor(errorCode, errorMessage) {
    super(errorMessage || errorCode);
    this.errorCode = errorCode;
  }
}
class InteractionRequiredAuthError extends AuthError {}
class BrowserAuthError extends AuthError {}

/**
 * outcomes: {silent, popup} each either a token string (success) or an error instance;
 * accounts: what getAllAccounts() returns (MSAL's cache of signed-in users).
 */
function createMsal({ silent = "silent-token", popup = "popup-token", accounts = [] } = {}) {
  const calls = { configs: [], initialized: 0, acquireTokenSilent: [], ssoSilent: [], acquireTokenPopup: [] };
  const outcome = (result) => (typeof result === "string" ? Promise.resolve({ accessToken: result }) : Promise.reject(result));

  class PublicClientApplication {
    constructor(config) {
      calls.configs.push(config);
    }
    async initialize() {
      calls.initialized += 1;
    }
    getAllAccounts() {
      return accounts;
    }
    acquireTokenSilent(request) {
      calls.acquireTokenSilent.push(request);
      return outcome(silent);
    }
    ssoSilent(request) {
      calls.ssoSilent.push(request);
      return outcome(silent);
    }
    acquireTokenPopup(request) {
      calls.acquireTokenPopup.push(request);
      return outcome(popup);
    }
  }

  const msal = { PublicClientApplication, InteractionRequiredAuthError, BrowserAuthError, AuthError };
  return { msal, calls };
}

module.exports = { createMsal, InteractionRequiredAuthError, BrowserAuthError, AuthError };
