/**
 * Unmask's background: imports the features and registers every listener once, at top level,
 * so events wake a stopped worker. `globalThis.unmask` exposes the same handlers to tests.
 */
import { ext } from "../shared/browser.js";
import { MSG } from "../shared/messages.js";
import { signIn, signOut, whoAmI } from "./auth.js";
import { checkActiveTab, checkVideo, resumeJobs, uploadInstead } from "./jobs.js";
import { createMenus, MENU_ID, onMenuClicked } from "./menus.js";

function logFailure(error) {
  console.warn("Unmask:", error?.message || error);
}

/** Messages from our own pages and content scripts, routed by `type`. */
function onMessage(message, sender, sendResponse) {
  if (sender.id !== ext.runtime.id || !message || typeof message.type !== "string") return false;
  let work;
  switch (message.type) {
    case MSG.UPLOAD_CONSENT:
      work = uploadInstead(message.key);
      break;
    case MSG.OPEN_OPTIONS:
      work = ext.runtime.openOptionsPage();
      break;
    case MSG.CHECK_ACTIVE_TAB:
      work = checkActiveTab();
      break;
    case MSG.RESUME_CHECKS:
      work = resumeJobs();
      break;
    default:
      return false;
  }
  work.then(
    () => sendResponse({ ok: true }),
    (error) => {
      logFailure(error);
      sendResponse({ ok: false, error: String(error?.message || error) });
    },
  );
  return true;
}

ext.runtime.onInstalled.addListener(() => {
  createMenus().catch(logFailure);
});
ext.contextMenus.onClicked.addListener((info, tab) => {
  onMenuClicked(info, tab).catch(logFailure);
});
ext.runtime.onMessage.addListener(onMessage);

// Every start of the worker (browser start, wake-up by an event) resumes unfinished checks.
resumeJobs().catch(logFailure);

globalThis.unmask = Object.freeze({
  MENU_ID,
  checkActiveTab,
  checkVideo,
  createMenus,
  onMenuClicked,
  signIn,
  signOut,
  uploadInstead,
  whoAmI,
});
