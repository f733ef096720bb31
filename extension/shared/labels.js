/** Words shown to people for the server's stages and verdicts (worker, panel and popup agree). */

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

const VERDICT_TEXT = Object.freeze({
  fake: "Likely a deepfake",
  real: "No sign of manipulation",
  uncertain: "Uncertain: could not decide",
  no_face: "No face found to check",
});

export function stageText(stage) {
  return STAGE_TEXT[stage] || "Working…";
}

export function verdictText(verdict) {
  return VERDICT_TEXT[verdict] || "";
}

/** Progress as a fraction 0..1 whether the server sends a fraction or a percentage. */
export function progressFraction(progress) {
  const value = Number(progress);
  if (!Number.isFinite(value) || value < 0) return 0;
  return value > 1 ? Math.min(value / 100, 1) : value;
}

export function probabilityText(probability) {
  if (probability === null || probability === undefined || probability === "") return "";
  return `Fake probability: ${Math.round(Number(probability) * 100)}%`;
}
