/**
 * Message types between the worker, the in-page panel, the popup and the options page.
 * Every message is `{type, ...}`. Content scripts cannot import modules, so the worker hands
 * this object to the panel when it injects it (see background/overlay-bridge.js).
 */
export const MSG = Object.freeze({
  /** worker → panel: find the video the user meant and its post permalink. */
  LOCATE_VIDEO: "unmask:locate-video",
  /** worker → panel: a check's current state, to draw next to the video. */
  ANALYSIS_UPDATE: "unmask:analysis-update",
  /** panel → worker: the user agreed to upload the video from this browser. */
  UPLOAD_CONSENT: "unmask:upload-consent",
  /** panel → worker: open the options page (to sign in). */
  OPEN_OPTIONS: "unmask:open-options",
  /** popup → worker: check the main video of the active tab. */
  CHECK_ACTIVE_TAB: "unmask:check-active-tab",
  /** panel → worker: a check shown here is unfinished; starts a stopped worker, which resumes it. */
  RESUME_CHECKS: "unmask:resume-checks",
});
