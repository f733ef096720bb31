/**
 * Everything the extension remembers lives in `storage.local`: the worker is stopped when idle,
 * so nothing may live only in its globals. The API token is kept here and nowhere a page can read.
 */
import { ext } from "./browser.js";

export const DEFAULT_SERVER = "http://127.0.0.1:8000";
export const MAX_JOBS = 25;

const KEYS = Object.freeze({ server: "serverUrl", auth: "auth", jobs: "jobs" });

/** Server URL as origin + path without a trailing slash; throws a sentence when it is not http(s). */
export function normalizeServer(value) {
  let url;
  try {
    url = new URL(String(value).trim());
  } catch {
    throw new Error("Enter the server address, for example http://127.0.0.1:8000.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error("The server address must start with http:// or https://.");
  }
  return (url.origin + url.pathname).replace(/\/+$/, "");
}

export async function getServer() {
  const stored = await ext.storage.local.get(KEYS.server);
  return stored[KEYS.server] || DEFAULT_SERVER;
}

export async function setServer(server) {
  await ext.storage.local.set({ [KEYS.server]: normalizeServer(server) });
}

/** `{server, token, expiry, username}` or null when signed out. */
export async function getAuth() {
  const stored = await ext.storage.local.get(KEYS.auth);
  return stored[KEYS.auth] || null;
}

export async function setAuth(auth) {
  await ext.storage.local.set({ [KEYS.auth]: auth });
}

export async function clearAuth() {
  await ext.storage.local.remove(KEYS.auth);
}

/** Recent checks, newest first. */
export async function listJobs() {
  const stored = await ext.storage.local.get(KEYS.jobs);
  return stored[KEYS.jobs] || [];
}

export async function getJob(key) {
  return (await listJobs()).find((job) => job.key === key) || null;
}

let writes = Promise.resolve();

/**
 * Merge `changes` into the job with `key` (creating it first when new) and return the result.
 * Writes are chained so two updates arriving together never overwrite each other.
 */
export function saveJob(key, changes) {
  const write = writes.then(async () => {
    const jobs = await listJobs();
    const index = jobs.findIndex((job) => job.key === key);
    const job = { ...(index >= 0 ? jobs[index] : { key, createdAt: Date.now() }), ...changes };
    job.updatedAt = Date.now();
    if (index >= 0) jobs[index] = job;
    else jobs.unshift(job);
    await ext.storage.local.set({ [KEYS.jobs]: jobs.slice(0, MAX_JOBS) });
    return job;
  });
  writes = write.catch(() => undefined);
  return write;
}

export function onJobsChanged(callback) {
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && KEYS.jobs in changes) callback(changes[KEYS.jobs].newValue || []);
  });
}
