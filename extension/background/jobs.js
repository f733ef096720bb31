/**
 * A check from click to verdict: locate the video, submit it, follow progress (websocket, else
 * polling), mirror every change to storage, badge and in-page panel. Jobs live in storage, so a
 * worker that was stopped picks its unfinished checks up again (resumeJobs).
 */
import { ext } from "../shared/browser.js";
import { AFTER_FETCH, TERMINAL } from "../shared/labels.js";
import { getAuth, getJob, listJobs, saveJob } from "../shared/storage.js";
import * as api from "./api.js";
import { showBadge } from "./badge.js";
import { locateVideo, showOnPage } from "./overlay-bridge.js";
import { chooseSource } from "./source.js";
import { downloadAndUpload, isTransient } from "./transfer.js";

const POLL_MS = 1500;
/** A socket quiet this long is treated as dropped and the check polled instead. */
const QUIET_MS = 15000;
const WORKER_STARTED_AT = Date.now();

/** key → {socket, timer, watchdog} for the checks this worker instance is following. */
const followers = new Map();

async function update(key, changes) {
  const job = await saveJob(key, changes);
  await Promise.all([showOnPage(job), showBadge(job)]);
  return job;
}

/** Fields of an API/websocket analysis payload, as stored on the job. */
function fromAnalysis(job, server, data) {
  const stage = data.stage || data.status || job.stage;
  const stagesSeen = job.stagesSeen || [];
  const changes = {
    analysisId: data.id ?? job.analysisId,
    status: data.status || job.status,
    stage,
    progress: data.progress ?? job.progress,
    verdict: data.verdict ?? job.verdict ?? "",
    verdictLabel: data.verdict_label ?? job.verdictLabel ?? "",
    fakeProbability: data.fake_probability ?? job.fakeProbability ?? null,
    error: data.error || "",
    resultUrl: api.serverUrl(server, data.result_url) || job.resultUrl || "",
    wsUrl: data.ws_url || job.wsUrl || "",
    stagesSeen: stagesSeen.includes(stage) ? stagesSeen : [...stagesSeen, stage],
  };
  const failedBeforeVideo =
    changes.status === "failed" && !changes.stagesSeen.some((seen) => AFTER_FETCH.has(seen));
  if (failedBeforeVideo && job.kind === "url" && job.directUrl) {
    changes.canUpload = true;
  }
  return changes;
}

async function applyAnalysis(key, server, data) {
  const job = await getJob(key);
  if (!job) return null;
  const next = await update(key, fromAnalysis(job, server, data));
  if (TERMINAL.has(next.status)) stopFollowing(key);
  return next;
}

function stopFollowing(key) {
  const follower = followers.get(key);
  if (!follower) return;
  followers.delete(key);
  clearTimeout(follower.timer);
  clearTimeout(follower.watchdog);
  if (follower.socket && follower.socket.readyState <= WebSocket.OPEN) follower.socket.close();
}

function poll(key, auth, id) {
  const follower = followers.get(key);
  if (!follower) return;
  follower.timer = setTimeout(async () => {
    if (!followers.has(key)) return;
    try {
      const job = await applyAnalysis(key, auth.server, await api.getAnalysis(auth.server, auth.token, id));
      if (job && !TERMINAL.has(job.status)) poll(key, auth, id);
    } catch (error) {
      if (error instanceof api.ApiError && error.status !== 0) {
        stopFollowing(key);
        await update(key, { status: "failed", error: error.message, needsSignIn: error.isAuthError });
      } else {
        poll(key, auth, id);
      }
    }
  }, POLL_MS);
}

/**
 * Follow analysis progress live over the websocket; fall back to polling if it fails, drops or
 * goes quiet (a proxy that holds messages back, an event lost on the server).
 */
function follow(key, auth, job) {
  stopFollowing(key);
  const follower = { socket: null, timer: null, watchdog: null };
  followers.set(key, follower);
  const fallBack = () => {
    if (followers.get(key) === follower && !follower.timer) poll(key, auth, job.analysisId);
  };
  const rearmWatchdog = (socket) => {
    clearTimeout(follower.watchdog);
    follower.watchdog = setTimeout(() => {
      // Poll at once: a peer that went quiet may never complete the closing handshake.
      socket.close();
      follower.socket = null;
      fallBack();
    }, QUIET_MS);
  };
  try {
    const socket = new WebSocket(api.socketUrl(auth.server, job.analysisId, job.wsUrl, auth.token));
    follower.socket = socket;
    rearmWatchdog(socket);
    socket.addEventListener("message", (event) => {
      rearmWatchdog(socket);
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data && typeof data === "object" && data.status) {
        applyAnalysis(key, auth.server, data).catch((error) => console.warn("Unmask:", error));
      }
    });
    socket.addEventListener("close", () => {
      // Closed by the server after done/failed, or dropped: the database has the last word.
      clearTimeout(follower.watchdog);
      follower.socket = null;
      fallBack();
    });
  } catch {
    fallBack();
  }
}

async function start(key, auth, submit) {
  let data;
  try {
    data = await submit();
  } catch (error) {
    const job = await getJob(key);
    const message = error instanceof api.ApiError ? error.message : String(error?.message || error);
    const refusedUrl = error instanceof api.ApiError && error.status >= 400 && error.status < 500;
    const uploadBroke = job.kind === "upload" && isTransient(error);
    return update(key, {
      status: "failed",
      error: message,
      needsSignIn: error instanceof api.ApiError && error.isAuthError,
      canUpload:
        ((refusedUrl && !error.isAuthError && job.kind === "url") || uploadBroke) && Boolean(job.directUrl),
    });
  }
  const job = await applyAnalysis(key, auth.server, data);
  if (job && !TERMINAL.has(job.status)) follow(key, auth, job);
  return job;
}

/**
 * Check the video the user pointed at: the one code path behind the menu, the toolbar popup
 * and the tests. `hints` are the menu's click data: tabId, frameId, srcUrl, linkUrl, pageUrl,
 * frameUrl, targetElementId (Firefox), title.
 */
export async function checkVideo(hints) {
  const { tabId, frameId = 0, pageUrl = "", title = "" } = hints;
  const key = crypto.randomUUID();
  await saveJob(key, { tabId, frameId, pageUrl, title, status: "locating", stage: "locating" });
  const located = tabId >= 0 ? await locateVideo(tabId, frameId, hints) : null;
  const { url, directUrl } = chooseSource(hints, located);
  await update(key, {
    anchorId: located?.anchorId || "",
    kind: "url",
    url,
    directUrl,
    status: "submitting",
    stage: "submitting",
    progress: 0,
    stagesSeen: [],
  });
  const auth = await getAuth();
  if (!auth) {
    ext.runtime.openOptionsPage().catch(() => undefined);
    return update(key, {
      status: "failed",
      error: "Sign in to your Unmask server first (the options page just opened).",
      needsSignIn: true,
    });
  }
  if (!url) {
    return update(key, { status: "failed", error: "There is no web address to check on this page." });
  }
  return start(key, auth, () => api.submitUrl(auth.server, auth.token, url));
}

/** The toolbar popup's button: the main video of the active tab. */
export async function checkActiveTab() {
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  if (!tab) throw new Error("No active tab to check.");
  return checkVideo({ tabId: tab.id, frameId: 0, pageUrl: tab.url || "", title: tab.title || "" });
}

/**
 * The server could not fetch the video and the user agreed: download the bytes in the
 * extension (with the user's cookies for that site) and upload them as a file. Resolves once
 * the upload has started; the transfer and the check go on from there, shown as updates.
 */
export async function uploadInstead(key) {
  const job = await getJob(key);
  if (!job?.canUpload || !job.directUrl) {
    throw new Error("This check can no longer be uploaded. Check the video again.");
  }
  const auth = await getAuth();
  if (!auth) {
    return update(key, { status: "failed", error: "Sign in to your Unmask server first.", needsSignIn: true });
  }
  await update(key, {
    kind: "upload",
    canUpload: false,
    error: "",
    status: "uploading",
    stage: "uploading",
    progress: 0,
    stagesSeen: [],
    analysisId: null,
  });
  start(key, auth, async () =>
    downloadAndUpload(auth, job.directUrl, await api.getLimits(auth.server, auth.token)),
  ).catch((error) => console.warn("Unmask:", error?.message || error));
}

/** Pick up checks a stopped worker was following; mark submissions it lost as interrupted. */
export async function resumeJobs() {
  const auth = await getAuth();
  for (const job of await listJobs()) {
    if (TERMINAL.has(job.status) || followers.has(job.key) || job.updatedAt >= WORKER_STARTED_AT) {
      continue;
    }
    if (job.analysisId && auth) {
      follow(job.key, auth, job);
    } else {
      // An interrupted upload keeps the user's consent: the panel offers it again.
      await update(job.key, {
        status: "failed",
        error: "The check was interrupted. Try again.",
        canUpload: job.kind === "upload" && Boolean(job.directUrl),
      });
    }
  }
}
