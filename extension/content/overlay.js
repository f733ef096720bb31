/**
 * In-page side of Unmask, injected into the clicked frame when a check starts (classic script,
 * safe to inject twice). It finds the video the user meant and the post it belongs to, and draws
 * a small panel next to it with the live stage and then the verdict. Server data only ever
 * reaches the DOM through textContent and checked attributes.
 */
(() => {
  if (globalThis.unmaskOverlay) return;
  const ext = globalThis.browser ?? globalThis.chrome;
  const MSG = globalThis.unmaskMessageTypes;
  const RIGHT_CLICK_MEMORY_MS = 60_000;
  const POST_AREA_RATIO = 6;
  const POST_PATH = /\/(status|statuses|watch|shorts|reel|reels|video|videos|p|posts|story|comments)\b/;
  const POST_LINK =
    'a[href*="/status/"], a[href*="/watch"], a[href*="/shorts/"], a[href*="/reel"], ' +
    'a[href*="/video/"], a[href*="/videos/"], a[href*="/p/"], a[href*="/posts/"], a[href*="/comments/"]';

  const anchors = new Map();
  const panels = new Map();
  const closed = new Set();
  let lastRightClick = null;
  let nextAnchor = 1;

  // From now on, remember what was right-clicked (and where) for the next check in this frame.
  document.addEventListener(
    "contextmenu",
    (event) => {
      const target = event.composedPath()[0] || event.target;
      lastRightClick = { target, x: event.clientX, y: event.clientY, time: Date.now() };
    },
    true,
  );

  /** Every <video> under `root`, also inside open shadow roots (Reddit's player keeps it there). */
  function videosIn(root) {
    const found = [...root.querySelectorAll("video")];
    for (const host of root.querySelectorAll("*")) {
      if (host.shadowRoot) found.push(...videosIn(host.shadowRoot));
    }
    return found;
  }

  /** The parent element, stepping out of a shadow root to its host. */
  function parentOf(node) {
    return node.parentElement || node.getRootNode()?.host || null;
  }

  function isHttp(url) {
    return /^https?:\/\//i.test(url || "");
  }

  function sourcesOf(video) {
    const sources = [video.currentSrc, video.src];
    for (const source of video.querySelectorAll("source")) sources.push(source.src);
    return sources.filter(Boolean);
  }

  function visibleArea(element) {
    const rect = element.getBoundingClientRect();
    const width = Math.min(rect.right, innerWidth) - Math.max(rect.left, 0);
    const height = Math.min(rect.bottom, innerHeight) - Math.max(rect.top, 0);
    return width > 0 && height > 0 ? width * height : 0;
  }

  /** The page's main video: the largest visible one, playing ones first. */
  function mainVideo() {
    const videos = videosIn(document).filter((v) => visibleArea(v) > 0);
    videos.sort((a, b) => Number(a.paused) - Number(b.paused) || visibleArea(b) - visibleArea(a));
    return videos[0] || null;
  }

  /** The video a right-click on `target` meant, e.g. under a player's transparent overlay. */
  function videoFor(target, point) {
    if (!(target instanceof Element)) return null;
    const own = target.closest("video");
    if (own) return own;
    if (point) {
      const under = videosIn(document).find((video) => {
        const r = video.getBoundingClientRect();
        return point.x >= r.left && point.x <= r.right && point.y >= r.top && point.y <= r.bottom;
      });
      if (under) return under;
    }
    const inside = videosIn(target);
    return inside.length === 1 ? inside[0] : null;
  }

  function isPostLink(link) {
    if (!isHttp(link.href)) return false;
    const url = new URL(link.href);
    return POST_PATH.test(url.pathname) || url.searchParams.has("v");
  }

  function area(element) {
    const rect = element.getBoundingClientRect();
    return rect.width * rect.height;
  }

  /**
   * The permalink of the post around `element`: walk up until a post link appears, stopping at
   * the post (an <article>), where the container holds other videos (a feed), or where it grows
   * far beyond the video (a page column whose links are recommendations, not this post).
   */
  function permalinkFor(element) {
    const ownArea = area(element);
    for (let node = element; node && node !== document.documentElement; node = parentOf(node)) {
      if (node !== element && videosIn(node).length > 1) break;
      if (ownArea > 0 && area(node) > POST_AREA_RATIO * ownArea) break;
      if (node.matches("a[href]") && isPostLink(node)) return node.href;
      const link = [...node.querySelectorAll(POST_LINK)].find(isPostLink);
      if (link) return link.href;
      if (node.matches("article")) {
        const stamped = node.querySelector("a[href] time")?.closest("a");
        if (stamped && isHttp(stamped.href)) return stamped.href;
        break;
      }
    }
    const canonical = document.querySelector('link[rel="canonical"]')?.href;
    return isHttp(canonical) ? canonical : "";
  }

  function targetFromMenu(targetElementId) {
    if (targetElementId === null || targetElementId === undefined) return null;
    try {
      return ext.menus?.getTargetElement?.(targetElementId) || null;
    } catch {
      return null;
    }
  }

  function locate({ srcUrl = "", linkUrl = "", targetElementId = null }) {
    let target = targetFromMenu(targetElementId);
    const recent = lastRightClick && Date.now() - lastRightClick.time < RIGHT_CLICK_MEMORY_MS;
    const point = !target && recent ? lastRightClick : null;
    if (point) target = point.target;
    let video = srcUrl
      ? videosIn(document).find((v) => sourcesOf(v).includes(srcUrl))
      : null;
    if (!video && target) video = videoFor(target, point);
    if (!target && linkUrl) target = [...document.links].find((a) => a.href === linkUrl) || null;
    if (!video && !target) video = mainVideo();
    const element = video || target;
    let anchorId = "";
    if (element) {
      anchorId = `a${nextAnchor++}`;
      anchors.set(anchorId, element);
    }
    return {
      anchorId,
      videoSrc: video ? sourcesOf(video).find(isHttp) || "" : "",
      permalink: element ? permalinkFor(element) : permalinkFor(document.body),
      frameUrl: location.href,
    };
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function buildPanel(key) {
    const root = make("div", "unmask-panel");
    root.dataset.unmaskKey = key;
    root.setAttribute("role", "status");
    root.setAttribute("aria-live", "polite");
    const head = make("div", "unmask-panel__head");
    head.append(make("span", "unmask-panel__title", "Unmask"));
    const close = make("button", "unmask-panel__close", "×");
    close.type = "button";
    close.title = "Close";
    close.addEventListener("click", () => {
      closed.add(key);
      root.remove();
      panels.delete(key);
    });
    head.append(close);
    const parts = {
      root,
      stage: make("p", "unmask-panel__stage"),
      bar: make("progress", "unmask-panel__progress"),
      verdict: make("p", "unmask-panel__verdict"),
      probability: make("p", "unmask-panel__probability"),
      error: make("p", "unmask-panel__error"),
      actions: make("div", "unmask-panel__actions"),
    };
    parts.bar.max = 1;
    root.append(head, parts.stage, parts.bar, parts.verdict, parts.probability, parts.error, parts.actions);
    document.documentElement.append(root);
    return parts;
  }

  function button(text, className, onClick) {
    const node = make("button", `unmask-panel__button ${className}`, text);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function send(message) {
    ext.runtime.sendMessage(message).catch(() => undefined);
  }

  // A worker the browser stopped lost its websocket and, until some event starts it again, the
  // panel would wait forever. While a check shown here is unfinished, a message now and then
  // starts a stopped worker, which resumes following its checks (and is a no-op otherwise).
  const WAKE_MS = 5000;
  let wakeTimer = 0;
  function unfinished() {
    return [...panels.values()].some((p) => !["done", "failed"].includes(p.root.dataset.status));
  }
  function keepWorkerFollowing() {
    if (wakeTimer || !unfinished()) return;
    wakeTimer = setInterval(() => {
      if (unfinished()) {
        send({ type: MSG.RESUME_CHECKS });
      } else {
        clearInterval(wakeTimer);
        wakeTimer = 0;
      }
    }, WAKE_MS);
  }

  function place(panel, anchorId) {
    const anchor = anchors.get(anchorId);
    const rect = anchor?.isConnected ? anchor.getBoundingClientRect() : null;
    const width = panel.root.offsetWidth || 280;
    const onScreen = rect && rect.bottom > 0 && rect.top < innerHeight && rect.width > 0;
    const top = onScreen ? Math.max(8, rect.top + 8) : innerHeight - panel.root.offsetHeight - 16;
    const left = onScreen ? Math.min(Math.max(8, rect.left + 8), innerWidth - width - 8) : innerWidth - width - 16;
    panel.root.style.top = `${Math.max(8, top)}px`;
    panel.root.style.left = `${Math.max(8, left)}px`;
  }

  /**
   * The user agreed to upload: the panel shows it at once, so a second click cannot send the
   * consent again, and the worker's updates take over. The worker answers once the upload has
   * started, or says why it could not.
   */
  function startUpload(view) {
    render({
      ...view,
      status: "uploading",
      stage: "uploading",
      stageText: view.uploadStageText,
      progress: 0,
      error: "",
      canUpload: false,
      resultUrl: "",
    });
    const refused = (error) => render({ ...view, error, canUpload: false });
    ext.runtime.sendMessage({ type: MSG.UPLOAD_CONSENT, key: view.key }).then(
      (answer) => answer?.ok || refused(answer?.error || "Unmask could not start the upload."),
      () => refused("Unmask could not start the upload. Reload the page and try again."),
    );
  }

  function render(view) {
    if (closed.has(view.key)) return;
    let panel = panels.get(view.key);
    if (!panel) {
      panel = buildPanel(view.key);
      panel.anchorId = view.anchorId;
      panels.set(view.key, panel);
    }
    panel.root.dataset.status = view.status;
    panel.root.dataset.stage = view.stage;
    panel.root.dataset.verdict = view.verdict;
    panel.stage.textContent = view.stageText;
    panel.bar.value = view.progress;
    panel.bar.hidden = view.status === "done" || view.status === "failed";
    panel.verdict.textContent = view.verdictText;
    panel.probability.textContent = view.probabilityText;
    panel.error.textContent = view.error;
    panel.actions.replaceChildren();
    if (view.canUpload) {
      const question = view.uploadTried
        ? "Try the upload from this browser again?"
        : "Upload the video from this browser instead?";
      panel.actions.append(
        make("span", "unmask-panel__question", question),
        button(view.uploadTried ? "Upload again" : "Upload", "unmask-panel__upload", () => startUpload(view)),
      );
    }
    if (view.needsSignIn) {
      panel.actions.append(button("Sign in", "unmask-panel__signin", () => send({ type: MSG.OPEN_OPTIONS })));
    }
    if (isHttp(view.resultUrl)) {
      const link = make("a", "unmask-panel__link", "Open the full result");
      link.href = view.resultUrl;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      panel.actions.append(link);
    }
    place(panel, panel.anchorId);
    keepWorkerFollowing();
  }

  let placing = false;
  function placeAll() {
    if (placing) return;
    placing = true;
    requestAnimationFrame(() => {
      placing = false;
      for (const panel of panels.values()) place(panel, panel.anchorId);
    });
  }
  addEventListener("scroll", placeAll, { passive: true, capture: true });
  addEventListener("resize", placeAll, { passive: true });

  ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (sender.id !== ext.runtime.id || !message) return false;
    if (message.type === MSG.LOCATE_VIDEO) {
      sendResponse(locate(message));
    } else if (message.type === MSG.ANALYSIS_UPDATE && message.view) {
      render(message.view);
      sendResponse({ ok: true });
    }
    return false;
  });

  globalThis.unmaskOverlay = { locate, render };
})();
