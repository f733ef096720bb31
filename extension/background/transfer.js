/**
 * Moving a video through this browser when the server cannot fetch it: download it here, with
 * the user's cookies for its site, and upload it. A connection that goes silent must not hold a
 * check at "uploading" for good, so a download that stops sending bytes is cut off and a
 * transfer that broke is tried once more on a fresh connection.
 */
import { ext } from "../shared/browser.js";
import * as api from "./api.js";

/** A download that sends no bytes for this long is treated as dead. */
const STALL_MS = 30000;
/** Chrome may stop a worker that calls no extension API for 30 s, even mid-transfer. */
const KEEP_AWAKE_MS = 25000;

/** A failure another attempt on a fresh connection may get past. */
class TransferBroke extends Error {
  constructor(message) {
    super(message);
    this.name = "TransferBroke";
  }
}

/** Whether `error` is worth one more attempt: a broken download, or no answer from the server. */
export function isTransient(error) {
  return error instanceof TransferBroke || (error instanceof api.ApiError && error.status === 0);
}

/** `work()` once more when its first attempt broke on the way. */
async function retryOnce(work) {
  try {
    return await work();
  } catch (error) {
    if (!isTransient(error)) throw error;
    console.info("Unmask: transfer broke, trying again:", error.message);
    return work();
  }
}

/** Run `work` with the worker kept awake (Chrome's advice for long operations). */
async function keepAwake(work) {
  const timer = setInterval(() => ext.runtime.getPlatformInfo().catch(() => undefined), KEEP_AWAKE_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function fileNameFor(url, type) {
  const last = new URL(url).pathname.split("/").filter(Boolean).pop() || "";
  if (/\.[a-z0-9]{2,4}$/i.test(last)) return decodeURIComponent(last).slice(-100);
  const extension = (type.split("/")[1] || "mp4").split(";")[0];
  return `video.${extension}`;
}

/**
 * The video at `url` as a File, read as it arrives: cut off once it passes the server's upload
 * limit (`limits` from api.getLimits) or stops arriving for STALL_MS. The HTTP cache is skipped:
 * the bytes are read once, and a request whose cache entry another request is still writing
 * waits on that request.
 */
async function downloadVideo(url, limits) {
  const tooLarge = `The video is larger than the ${limits.upload_max_size} your Unmask server takes.`;
  const controller = new AbortController();
  let stalled = false;
  let timer = 0;
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, STALL_MS);
  };
  rearm();
  try {
    const response = await fetch(url, { credentials: "include", cache: "no-store", signal: controller.signal });
    if (!response.ok) throw new Error(`The video could not be downloaded here either (HTTP ${response.status}).`);
    if (Number(response.headers.get("Content-Length") || 0) > limits.upload_max_bytes) throw new Error(tooLarge);
    const reader = response.body.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      rearm();
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limits.upload_max_bytes) throw new Error(tooLarge);
      chunks.push(value);
    }
    const type = response.headers.get("Content-Type") || "";
    return new File(chunks, fileNameFor(url, type), { type: type || "video/mp4" });
  } catch (error) {
    if (stalled) throw new TransferBroke("The video stopped arriving while this browser downloaded it.");
    if (error instanceof TypeError) throw new TransferBroke("This browser could not download the video either.");
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort(); // a body left unread (refused, too large) must not hold its connection
  }
}

/** Download the video at `url` here and upload it to the server; one retry if either broke. */
export function downloadAndUpload(auth, url, limits) {
  return keepAwake(() =>
    retryOnce(async () => {
      const file = await downloadVideo(url, limits);
      return api.submitFile(auth.server, auth.token, file, file.name);
    }),
  );
}
