/** The toolbar badge of the tab a check runs in: percentage while running, then the verdict. */
import { ext } from "../shared/browser.js";
import { progressFraction, TERMINAL } from "../shared/labels.js";

const VERDICT_BADGE = Object.freeze({
  fake: ["FAKE", "#c62828"],
  real: ["OK", "#2e7d32"],
  uncertain: ["?", "#ef6c00"],
  no_face: ["—", "#616161"],
});

export function badgeFor(job) {
  if (job.status === "failed") return ["!", "#c62828"];
  if (TERMINAL.has(job.status)) return VERDICT_BADGE[job.verdict] || ["", "#616161"];
  return [`${Math.round(progressFraction(job.progress) * 100)}%`, "#1565c0"];
}

export async function showBadge(job) {
  if (job.tabId === undefined || job.tabId === null || job.tabId < 0) return;
  const [text, color] = badgeFor(job);
  try {
    await ext.action.setBadgeBackgroundColor({ tabId: job.tabId, color });
    await ext.action.setBadgeText({ tabId: job.tabId, text });
  } catch {
    // The tab was closed: nothing to show the badge on.
  }
}
