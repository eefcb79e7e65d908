"use strict";
/*
 * A local HTTP server that answers POST /api/booking-sessions the way the function app does,
 * with the answer chosen per test. It records what the button sent.
 */
const http = require("node:http");

const ANSWERS = {
  created: (request) => ({
    status: 201,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      sessionId: "sess_1",
      redirectUrl: "https://book.example.com/start?session=sess_1",
      expiresAt: "2030-01-01T00:00:00Z",
    }),
  }),
  notFound: () => problem(404, "Record not found", "No lead with that id."),
  badGateway: () => problem(502, "Booking system error", "The booking API answered 500."),
  unavailable: () => problem(503, "Booking system unavailable", "Try later.", { "Retry-After": "30" }),
  unavailableMinutes: () => problem(503, "Booking system unavailable", "Try later.", { "Retry-After": "150" }),
  // What a page of another origin sees behind CORS that does not expose Retry-After: the body's retryAfter.
  unavailableBodyOnly: () => problem(503, "Booking system unavailable", "Try later.", {}, { retryAfter: 45 }),
  unavailableBodyGarbage: () => problem(503, "Booking system unavailable", "Try later.", {}, { retryAfter: "soon" }),
  unauthorized: () => ({ status: 401, headers: {}, body: "" }),
  invalidToken: () => problem(401, "Unauthorized", "The token is not valid.", { "WWW-Authenticate": 'Bearer error="invalid_token"' }),
  insufficientScope: () => problem(403, "Forbidden", "Scope missing.", { "WWW-Authenticate": 'Bearer error="insufficient_scope"' }),
  garbage: () => ({ status: 201, headers: { "Content-Type": "text/html" }, body: "<html>oops" }),
  hostileRedirect: () => ({
    status: 201,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sessionId: "x", redirectUrl: "javascript:alert(1)", expiresAt: null }),
  }),
};

function problem(status, title, detail, headers = {}, extensions = {}) {
  return {
    status,
    headers: { "Content-Type": "application/problem+json", ...headers },
    body: JSON.stringify({ type: "about:blank", title, status, detail, ...extensions }),
  };
}

async function startFunctionApp(app) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      app.requests.push({ method: req.method, url: req.url, headers: req.headers, body: raw });
      if (app.hang) {
        return; // never answers; the client must give up
      }
      if (req.method !== "POST" || req.url !== "/api/booking-sessions") {
        const answer = problem(404, "Not found", "No such route.");
        res.writeHead(answer.status, answer.headers).end(answer.body);
        return;
      }
      const answer = ANSWERS[app.answer](raw);
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  app.url = `http://127.0.0.1:${server.address().port}`;
  app.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    });
  return app;
}

/**
 * One server for a test file (node:test's before/after), reset before each test to answer
 * 201. The returned object is filled in (url, close) once the server listens.
 */
function useFunctionApp(test) {
  const app = { requests: [], answer: "created", hang: false };
  test.before(() => startFunctionApp(app));
  test.after(() => app.close());
  test.beforeEach(() => {
    app.requests.length = 0;
    app.answer = "created";
    app.hang = false;
  });
  return app;
}

module.exports = { useFunctionApp };
