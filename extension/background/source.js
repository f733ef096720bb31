/**
 * Decide what URL the server should fetch for the video the user pointed at. A `blob:` or
 * MediaSource video cannot leave the page, so the post's permalink (or the frame/page) stands in.
 */

export function isHttpUrl(value) {
  try {
    const { protocol } = new URL(value);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * `hints` comes from the menu click (srcUrl, linkUrl, pageUrl, frameUrl); `located` from the
 * in-page script (videoSrc, permalink), or null when the page could not be scripted.
 * Returns `{url, directUrl}`: `directUrl` is a media file this browser could upload itself.
 */
export function chooseSource(hints, located) {
  const { srcUrl = "", linkUrl = "", pageUrl = "", frameUrl = "" } = hints;
  const videoSrc = located?.videoSrc || "";
  const directUrl = [srcUrl, videoSrc].find(isHttpUrl) || "";
  const candidates = [
    isHttpUrl(srcUrl) ? srcUrl : "",
    srcUrl ? "" : linkUrl,
    videoSrc,
    located?.permalink || "",
    frameUrl && frameUrl !== pageUrl ? frameUrl : "",
    located?.frameUrl || "",
    pageUrl,
  ];
  return { url: candidates.find(isHttpUrl) || "", directUrl };
}
