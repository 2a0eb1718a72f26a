/** OpenTok.js's collections (session.connections, session.streams): length() is a method. */
import { kAdd, kClear, kRemove } from './internal.js';
import { isFunction } from './util.js';

export class Collection {
  #items = new Map();
  #key;

  constructor(key) {
    this.#key = key;
  }

  length() {
    return this.#items.size;
  }

  get(id) {
    return this.#items.get(id);
  }

  has(id) {
    return this.#items.has(id);
  }

  forEach(fn, context) {
    [...this.#items.values()].forEach(fn, context);
    return this;
  }

  map(fn, context) {
    return [...this.#items.values()].map(fn, context);
  }

  /** The items that match: `fn(item)` is truthy, or every property of `filter` is equal. */
  where(filter, context) {
    const items = [...this.#items.values()];
    if (isFunction(filter)) return items.filter(filter, context);
    return items.filter((item) => Object.entries(filter || {}).every(([k, v]) => item[k] === v));
  }

  /** The first item that matches (an id finds by id). */
  find(filter, context) {
    if (typeof filter === 'string') return this.get(filter);
    return this.where(filter, context)[0];
  }

  [kAdd](item) {
    this.#items.set(item[this.#key], item);
    return item;
  }

  [kRemove](id) {
    const item = this.#items.get(id);
    this.#items.delete(id);
    return item;
  }

  [kClear]() {
    this.#items.clear();
  }
}
