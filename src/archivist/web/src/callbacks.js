/**
 * OpenTok.js methods take an optional completion handler and (newer ones) return a Promise.
 * `settle` wires both to one Promise, reports failures as OT `exception` events, and marks the
 * Promise handled when a completion handler took the error (no "unhandled rejection" noise).
 */
import { dispatchException } from './events.js';
import { log } from './log.js';
import { isFunction, noop } from './util.js';

export function settle(promise, handler, target, withValue = false) {
  const reported = promise.then(undefined, (error) => {
    dispatchException(error && error.code, (error && error.message) || String(error), target);
    if (!isFunction(handler)) log.error(`${error && error.name} (${error && error.code}): ${error && error.message}`);
    throw error;
  });
  if (isFunction(handler)) {
    reported.then(
      (value) => callSafely(handler, withValue ? [undefined, value] : [undefined]),
      (error) => callSafely(handler, [error]),
    );
    reported.catch(noop);
  }
  return reported;
}

function callSafely(handler, args) {
  try {
    handler(...args);
  } catch (err) {
    log.error('a completion handler threw', err);
  }
}

/**
 * (targetElement, properties, completionHandler), each optional as in OpenTok.js: a function in
 * any place is the handler, an object that is not an element is the properties.
 */
export function optionalArgs(targetElement, properties, completionHandler) {
  let target = targetElement;
  let props = properties;
  let handler = completionHandler;
  if (isFunction(target)) {
    handler = target;
    target = undefined;
    props = undefined;
  } else if (isFunction(props)) {
    handler = props;
    props = undefined;
  }
  if (target !== null && typeof target === 'object' && target.nodeType !== 1 && props === undefined) {
    props = target;
    target = undefined;
  }
  return [target, props, handler];
}
