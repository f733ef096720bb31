/**
 * The only code that talks to the Unmask platform: REST calls with the per-device token and the
 * progress websocket URL. Failures become ApiError with a sentence a person understands.
 */

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  /** True when the server refused the token: the user must sign in again. */
  get isAuthError() {
    return this.status === 401 || this.status === 403;
  }
}

/** First readable message in a DRF error body: `detail`, a field error, or a plain string. */
function messageFromBody(body) {
  if (!body) return "";
  if (typeof body === "string") return body;
  if (Array.isArray(body)) return messageFromBody(body[0]);
  if (typeof body === "object") {
    if (body.detail) return messageFromBody(body.detail);
    for (const value of Object.values(body)) {
      const message = messageFromBody(value);
      if (message) return message;
    }
  }
  return "";
}

/** A call that has not been answered in this long is treated like a dropped connection. */
const ANSWER_MS = 30000;

async function request(server, path, { method = "GET", token = "", json, form, timeoutMs = ANSWER_MS } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Token ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  let text;
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    response = await fetch(`${server}${path}`, { method, headers, body, credentials: "omit", signal });
    text = await response.text();
  } catch (error) {
    if (error?.name === "TimeoutError") {
      throw new ApiError(0, `The Unmask server at ${server} did not answer in time.`);
    }
    throw new ApiError(0, `Cannot reach the Unmask server at ${server}. Is it running?`);
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok) return data;
  if (response.status === 401) {
    throw new ApiError(401, "Your Unmask sign-in has expired or was revoked. Sign in again in the options.");
  }
  const message = messageFromBody(data);
  if (response.status === 429) {
    throw new ApiError(429, message || "Too many checks right now. Try again in a minute.");
  }
  if (response.status >= 500 || !message) {
    throw new ApiError(response.status, `The Unmask server could not handle this (HTTP ${response.status}).`);
  }
  throw new ApiError(response.status, message);
}

export async function signIn(server, { username, password, device }) {
  return request(server, "/api/v1/auth/token/", {
    method: "POST",
    json: { username, password, device },
  });
}

/** Revoke the calling token on the server. */
export async function signOut(server, token) {
  await request(server, "/api/v1/auth/token/", { method: "DELETE", token });
}

export async function submitUrl(server, token, url) {
  return request(server, "/api/v1/analyses/", { method: "POST", token, json: { url } });
}

/** An upload gets a minute plus its time at 50 kB/s before it counts as unanswered. */
function uploadTimeoutMs(bytes) {
  return 60000 + Math.ceil(bytes / 50);
}

export async function submitFile(server, token, blob, filename) {
  const form = new FormData();
  form.append("file", blob, filename);
  const timeoutMs = uploadTimeoutMs(blob.size);
  return request(server, "/api/v1/analyses/", { method: "POST", token, form, timeoutMs });
}

/** What the server takes (upload size and types) and its words for verdicts. */
export async function getLimits(server, token) {
  return request(server, "/api/v1/analyses/limits/", { token });
}

export async function getAnalysis(server, token, id) {
  return request(server, `/api/v1/analyses/${encodeURIComponent(id)}/`, { token });
}

/** A URL on `server` for `path`, or "" when `path` would lead anywhere else. */
export function serverUrl(server, path) {
  if (!path) return "";
  try {
    const url = new URL(path, `${server}/`);
    return url.origin === new URL(server).origin ? url.href : "";
  } catch {
    return "";
  }
}

/** The progress websocket for analysis `id` on `server` (whatever host `wsPath` names), with `?token=`. */
export function socketUrl(server, id, wsPath, token) {
  const base = new URL(server);
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  const path = wsPath ? new URL(wsPath, base).pathname : `/ws/analyses/${encodeURIComponent(id)}/`;
  const url = new URL(path, base);
  url.searchParams.set("token", token);
  return url.href;
}
