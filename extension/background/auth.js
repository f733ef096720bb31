/** Sign in and out with the platform's per-device tokens; the token stays in storage.local. */
import { ext } from "../shared/browser.js";
import { clearAuth, getAuth, normalizeServer, setAuth, setServer } from "../shared/storage.js";
import * as api from "./api.js";

/** "Unmask extension (Firefox)": the name the server lists this token under. */
function deviceName() {
  const agent = globalThis.navigator?.userAgent || "";
  const browserName = /Firefox\//.test(agent)
    ? "Firefox"
    : /Edg\//.test(agent)
      ? "Edge"
      : /Chrome\//.test(agent)
        ? "Chromium"
        : "browser";
  return `Unmask extension (${browserName})`;
}

export async function signIn(server, username, password) {
  const base = normalizeServer(server);
  if (!username || !password) throw new Error("Enter your Unmask username and password.");
  const data = await api.signIn(base, { username, password, device: deviceName() });
  if (!data?.token) throw new Error("The server did not return a token. Is this an Unmask server?");
  await setServer(base);
  const auth = { server: base, token: data.token, expiry: data.expiry || null, username };
  await setAuth(auth);
  return { server: base, username, expiry: auth.expiry };
}

/**
 * Revoke this device's token on the server, then forget it. The local copy is dropped even when
 * the server cannot be reached, and the returned sentence says so.
 */
export async function signOut() {
  const auth = await getAuth();
  if (!auth) return "You were not signed in.";
  try {
    await api.signOut(auth.server, auth.token);
    return "Signed out; this device's token was revoked.";
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) {
      return "Signed out; the token had already expired or been revoked.";
    }
    return `Signed out here, but the server could not revoke the token: ${error.message}`;
  } finally {
    await clearAuth();
  }
}

/** The signed-in account as the options page shows it (never the token). */
export async function whoAmI() {
  const auth = await getAuth();
  return auth ? { server: auth.server, username: auth.username, expiry: auth.expiry } : null;
}

/**
 * The host permission for `server`, without its port: Firefox never matches a pattern that names
 * a port (its fetches then fail CORS), and a port-less pattern covers every port in both browsers.
 */
export function originPattern(server) {
  const url = new URL(normalizeServer(server));
  return `${url.protocol}//${url.hostname}/*`;
}

export async function hasServerPermission(server) {
  return ext.permissions.contains({ origins: [originPattern(server)] });
}
