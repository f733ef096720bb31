/** Words shown to people for the stages of a check (worker, panel and popup agree). Verdicts are
 * shown in the server's own words (`verdict_label`), so the extension and the site never differ. */

export const TERMINAL = new Set(["done", "failed"]);

/** Stages reached only after the server had the video: a failure before them was a download failure. */
export const AFTER_FETCH = new Set(["decoding", "detecting_faces", "scoring", "done"]);

const STAGE_TEXT = Object.freeze({
  locating: "Finding the video…",
  submitting: "Sending to Unmask…",
  uploading: "Uploading the video from this browser…",
  queued: "Waiting in the queue…",
  fetching: "The server is downloading the video…",
  decoding: "Reading frames…",
  detecting_faces: "Finding faces…",
  scoring: "Scoring the faces…",
  done: "Check finished",
  failed: "The check failed",
});

export function stageText(stage) {
  return STAGE_TEXT[stage] || "Working…";
}

export function verdictText(job) {
  return job.verdictLabel || "";
}

/** Progress as a fraction 0..1 of the server's percentage (0..100). */
export function progressFraction(progress) {
  const value = Number(progress);
  if (!Number.isFinite(value) || value < 0) return 0;
  return Math.min(value / 100, 1);
}

export function probabilityText(probability) {
  if (probability === null || probability === undefined || probability === "") return "";
  return `Fake probability: ${Math.round(Number(probability) * 100)}%`;
}
