/** Where the library was loaded from, for the default signaling URL. */

let scriptUrl = null;

export const config = {
  /** Set by the entry point: document.currentScript.src (script tag) or import.meta.url (module). */
  setScriptUrl(url) {
    if (url) scriptUrl = String(url);
  },

  /** ws(s)://<host of the script>/v2/signaling (or of the page when the script URL is unusable). */
  signalingUrl() {
    const base = scriptUrl || (typeof location !== 'undefined' ? location.href : null);
    if (!base) return null;
    let u;
    try {
      u = new URL(base);
    } catch {
      return null;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      if (typeof location === 'undefined' || !/^https?:$/.test(location.protocol)) return null;
      u = new URL(location.href);
    }
    return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}/v2/signaling`;
  },
};
