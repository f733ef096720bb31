/** The WebExtension namespace: Firefox's promise-based `browser`, else Chromium's `chrome`. */
export const ext = globalThis.browser ?? globalThis.chrome;
