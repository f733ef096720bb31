/**
 * Worker side of the in-page panel: inject content/overlay.js into the frame the user clicked,
 * ask it where the video is, and send it each state change to draw. Only view fields go to the
 * page, never the token.
 */
import { ext } from "../shared/browser.js";
import {
  probabilityText,
  progressFraction,
  stageText,
  TERMINAL,
  verdictText,
} from "../shared/labels.js";
import { MSG } from "../shared/messages.js";

async function injectOverlay(tabId, frameId) {
  const target = { tabId, frameIds: [frameId] };
  await ext.scripting.executeScript({
    target,
    func: (types) => {
      globalThis.unmaskMessageTypes = types;
    },
    args: [{ ...MSG }],
  });
  await ext.scripting.insertCSS({ target, files: ["content/overlay.css"] });
  await ext.scripting.executeScript({ target, files: ["content/overlay.js"] });
}

/**
 * Inject the panel script and ask it which video was meant and its permalink.
 * Returns null where the page cannot be scripted (browser pages, stores, no permission).
 */
export async function locateVideo(tabId, frameId, hints) {
  try {
    await injectOverlay(tabId, frameId);
    return await ext.tabs.sendMessage(tabId, { type: MSG.LOCATE_VIDEO, ...hints }, { frameId });
  } catch (error) {
    console.info("Unmask: cannot script this page:", error?.message || error);
    return null;
  }
}

/** The part of a job the page may see. */
export function panelView(job) {
  const finished = TERMINAL.has(job.status);
  return {
    key: job.key,
    anchorId: job.anchorId || "",
    status: job.status,
    stage: job.stage || job.status,
    stageText: stageText(job.status === "failed" ? "failed" : job.stage || job.status),
    progress: finished ? 1 : progressFraction(job.progress),
    verdict: job.verdict || "",
    verdictText: job.status === "done" ? verdictText(job) : "",
    probabilityText: job.status === "done" ? probabilityText(job.fakeProbability) : "",
    error: job.error || "",
    resultUrl: job.resultUrl || "",
    canUpload: Boolean(job.canUpload),
    uploadTried: job.kind === "upload",
    uploadStageText: stageText("uploading"),
    needsSignIn: Boolean(job.needsSignIn),
  };
}

export async function showOnPage(job) {
  if (job.tabId === undefined || job.tabId === null || job.tabId < 0) return;
  try {
    await ext.tabs.sendMessage(
      job.tabId,
      { type: MSG.ANALYSIS_UPDATE, view: panelView(job) },
      { frameId: job.frameId || 0 },
    );
  } catch {
    // The tab navigated away or was closed; the popup still lists the check.
  }
}
