/** The "Check this video with Unmask" context-menu item and what a click on it does. */
import { ext } from "../shared/browser.js";
import { checkVideo } from "./jobs.js";

export const MENU_ID = "unmask-check-video";

/** Called from runtime.onInstalled: menus persist, so clear old ones before creating. */
export async function createMenus() {
  await ext.contextMenus.removeAll();
  ext.contextMenus.create({
    id: MENU_ID,
    title: "Check this video with Unmask",
    // "page"/"frame" too: players such as YouTube's cover the video, so the browser's own menu
    // on a second right-click is a page menu, not a video menu.
    contexts: ["video", "link", "page", "frame"],
    documentUrlPatterns: ["http://*/*", "https://*/*"],
  });
}

export function onMenuClicked(info, tab) {
  if (info.menuItemId !== MENU_ID || !tab) return Promise.resolve(null);
  return checkVideo({
    tabId: tab.id,
    frameId: info.frameId ?? 0,
    srcUrl: info.srcUrl || "",
    linkUrl: info.linkUrl || "",
    pageUrl: info.pageUrl || tab.url || "",
    frameUrl: info.frameUrl || "",
    targetElementId: info.targetElementId ?? null,
    title: tab.title || "",
  });
}
