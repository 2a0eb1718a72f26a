/** Console logging with OpenTok.js's levels (OT.setLogLevel). */

export const LOG_LEVELS = Object.freeze({ NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5 });

let level = LOG_LEVELS.WARN;

export function setLogLevel(value) {
  const v = typeof value === 'string' ? LOG_LEVELS[value.toUpperCase()] : value;
  if (typeof v === 'number') level = v;
}

export function getLogLevel() {
  return level;
}

function at(threshold, method, args) {
  if (level >= threshold && typeof console !== 'undefined' && console[method]) {
    console[method]('[archivist]', ...args);
  }
}

export const log = Object.freeze({
  error: (...args) => at(LOG_LEVELS.ERROR, 'error', args),
  warn: (...args) => at(LOG_LEVELS.WARN, 'warn', args),
  info: (...args) => at(LOG_LEVELS.INFO, 'info', args),
  log: (...args) => at(LOG_LEVELS.LOG, 'log', args),
  debug: (...args) => at(LOG_LEVELS.DEBUG, 'debug', args),
});
