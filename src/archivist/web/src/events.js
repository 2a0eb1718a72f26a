/**
 * OpenTok.js's event model: Event objects with preventDefault(), and EventDispatcher with
 * on / once / off (one type, several space-separated types, or a {type: handler} map, each with
 * an optional `this` context), addEventListener / removeEventListener, dispatchEvent, trigger.
 */
import { ErrorTitles, ExceptionCodes } from './errors.js';
import { kDispatchTo, kListenerCount, kListenersChanged } from './internal.js';
import { log } from './log.js';
import { isFunction, isObject } from './util.js';

export class Event {
  #defaultPrevented = false;

  constructor(type, props, cancelable) {
    if (props) Object.assign(this, props);
    this.type = type;
    this.cancelable = cancelable !== false;
    if (!('target' in this)) this.target = null;
  }

  preventDefault() {
    if (this.cancelable) this.#defaultPrevented = true;
  }

  isDefaultPrevented() {
    return this.#defaultPrevented;
  }
}

export class EventDispatcher {
  #listeners = new Map(); // type -> [{handler, context, once}]

  #add(types, handler, context, once) {
    if (!isFunction(handler)) return;
    for (const type of String(types).split(/\s+/)) {
      if (!type) continue;
      if (!this.#listeners.has(type)) this.#listeners.set(type, []);
      this.#listeners.get(type).push({ handler, context, once });
      this[kListenersChanged](type);
    }
  }

  #each(types, handler, context, once) {
    if (isObject(types)) {
      for (const [type, fn] of Object.entries(types)) this.#add(type, fn, handler, once);
    } else {
      this.#add(types, handler, context, once);
    }
    return this;
  }

  on(types, handler, context) {
    return this.#each(types, handler, context, false);
  }

  once(types, handler, context) {
    return this.#each(types, handler, context, true);
  }

  off(types, handler, context) {
    if (types === undefined || types === null) {
      const all = [...this.#listeners.keys()];
      this.#listeners.clear();
      all.forEach((t) => this[kListenersChanged](t));
      return this;
    }
    if (isObject(types)) {
      for (const [type, fn] of Object.entries(types)) this.off(type, fn, handler);
      return this;
    }
    for (const type of String(types).split(/\s+/)) {
      const list = this.#listeners.get(type);
      if (!type || !list) continue;
      const kept = handler
        ? list.filter((l) => !(l.handler === handler && (context === undefined || l.context === context)))
        : [];
      if (kept.length) this.#listeners.set(type, kept);
      else this.#listeners.delete(type);
      this[kListenersChanged](type);
    }
    return this;
  }

  addEventListener(type, handler, context) {
    return this.on(type, handler, context);
  }

  removeEventListener(type, handler, context) {
    return this.off(type, handler, context);
  }

  /** Calls every listener of the event's type, then `defaultAction` unless one prevented it. */
  dispatchEvent(event, defaultAction) {
    if (!event.target) event.target = this;
    this[kDispatchTo](event.type, event);
    if (isFunction(defaultAction) && !event.isDefaultPrevented()) {
      try {
        defaultAction(event);
      } catch (err) {
        log.error(`the default action of "${event.type}" failed`, err);
      }
    }
    return event;
  }

  trigger(type, props) {
    return this.dispatchEvent(new Event(type, props));
  }

  /** Delivers `event` to the listeners of `type` (which may differ from event.type). */
  [kDispatchTo](type, event) {
    const list = (this.#listeners.get(type) || []).slice();
    for (const l of list) {
      if (l.once) this.off(type, l.handler, l.context);
      try {
        l.handler.call(l.context || this, event);
      } catch (err) {
        log.error(`an event handler for "${event.type}" threw`, err);
        if (this !== globalEvents) {
          dispatchException(ExceptionCodes.JS_EXCEPTION, String((err && err.message) || err), this);
        }
      }
    }
  }

  [kListenerCount](type) {
    return (this.#listeners.get(type) || []).length;
  }

  /** Called whenever listeners of `type` are added or removed; subclasses override it. */
  [kListenersChanged](_type) {}
}

/** The dispatcher behind OT.on / OT.off ('exception' events). */
export const globalEvents = new EventDispatcher();

/** Dispatches an `exception` event on OT (never throws). */
export function dispatchException(code, message, target, title) {
  try {
    globalEvents.dispatchEvent(new Event('exception', {
      code, title: title || ErrorTitles[code] || 'Error', message, target: target || null,
    }, false));
  } catch {
    // exception reporting must never throw
  }
}
