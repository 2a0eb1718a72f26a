/** Small helpers shared by the modules. */

let counter = 0;

/** An id unique in this page: `<prefix>_<random>_<n>`. */
export function uid(prefix) {
  counter += 1;
  const rnd = Math.random().toString(36).slice(2, 10);
  return `${prefix}_${Date.now().toString(36)}${rnd}_${counter}`;
}

export const isFunction = (x) => typeof x === 'function';
export const isObject = (x) => x !== null && typeof x === 'object';
export const delay = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
export const noop = () => {};

export function isElement(x) {
  return isObject(x) && x.nodeType === 1;
}

export function isTrack(x) {
  return typeof MediaStreamTrack !== 'undefined' && x instanceof MediaStreamTrack;
}

export function isMediaStream(x) {
  return typeof MediaStream !== 'undefined' && x instanceof MediaStream;
}

/** A number is pixels; any other non-empty value is used as a CSS size. */
export function cssSize(v) {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number' || /^\d+(\.\d+)?$/.test(String(v))) return `${v}px`;
  return String(v);
}

export function parseResolution(res) {
  const m = /^(\d+)x(\d+)$/.exec(String(res || ''));
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 640, height: 480 };
}

/** Resolves once the document has been parsed (at once when it already has). */
export function domReady() {
  if (typeof document === 'undefined' || document.readyState !== 'loading') return Promise.resolve();
  return new Promise((resolve) => {
    document.addEventListener('DOMContentLoaded', () => resolve(), { once: true });
  });
}
