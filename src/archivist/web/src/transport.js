/**
 * The signaling transport: one WebSocket to /v2/signaling speaking docs/protocol.md. Requests
 * carry a `rid` and resolve with the reply that carries it back; everything else the server
 * pushes goes to `onMessage`. `onClose` runs once when an established connection ends.
 *
 * Heartbeat: a WebSocket whose network went away (an address change, a dead Wi-Fi) may never
 * see a close: its TCP connection just goes quiet. Once established, a `ping` goes out after
 * HEARTBEAT_MS without a frame from the server, and after DEAD_MS without one the connection is
 * taken as lost (onClose with 1006) so the session reconnects without waiting for TCP to give up.
 */
import { ExceptionCodes, Errors, connectErrorFromClose, notConnected, otError } from './errors.js';
import { log } from './log.js';

const OPEN = 1;
const HEARTBEAT_MS = 2000;
const DEAD_MS = 5000;

export class SignalingTransport {
  #ws = null;
  #rid = 0;
  #pending = new Map();
  #established = false;
  #onMessage;
  #onClose;
  #lastHeard = 0;
  #heartbeat = null;

  /** @param {{onMessage: (msg) => void, onClose: (code: number, reason: string) => void}} handlers */
  constructor({ onMessage, onClose }) {
    this.#onMessage = onMessage;
    this.#onClose = onClose;
  }

  get isOpen() {
    return this.#established && !!this.#ws && this.#ws.readyState === OPEN;
  }

  /**
   * Opens the WebSocket and sends `connectFrame`. Calls `onConnected(reply)` synchronously on the
   * `connected` reply (before any frame after it is handled) and resolves with it; rejects with
   * the OT error of a refusal (close code), a failure or a timeout.
   */
  connect(url, connectFrame, { timeoutMs = 15000, onConnected } = {}) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        reject(otError(Errors.CONNECT_FAILED, `bad signaling URL ${url}: ${e.message}`, ExceptionCodes.CONNECT_FAILED));
        return;
      }
      this.#ws = ws;
      const rid = this.#nextRid();
      let refusal = null;
      let settled = false;
      const finish = (error, reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(reply);
      };
      const timer = setTimeout(() => {
        if (this.#ws === ws) this.#ws = null;
        try { ws.close(); } catch { /* already closed */ }
        finish(otError(Errors.CONNECTION_TIMEOUT, `no reply from the signaling server within ${Math.round(timeoutMs / 1000)} s`,
          ExceptionCodes.CONNECTION_TIMEOUT));
      }, timeoutMs);

      ws.onopen = () => {
        if (this.#ws !== ws) return;
        ws.send(JSON.stringify({ ...connectFrame, type: 'connect', rid }));
      };
      ws.onmessage = (ev) => {
        if (this.#ws !== ws) return;
        this.#lastHeard = Date.now();
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          log.warn('ignoring a non-JSON frame from the server');
          return;
        }
        if (!this.#established) {
          if (msg.type === 'error') refusal = msg;
          else if (msg.type === 'connected' && (msg.rid === rid || msg.rid === undefined)) {
            this.#established = true;
            this.#startHeartbeat(ws);
            if (onConnected) onConnected(msg);
            finish(null, msg);
          }
          return;
        }
        this.#handle(msg);
      };
      ws.onerror = () => { /* a close event follows */ };
      ws.onclose = (ev) => {
        if (this.#ws !== ws) return;
        this.#ws = null;
        this.#stopHeartbeat();
        this.#rejectPending();
        if (!this.#established) {
          const error = connectErrorFromClose(ev.code, refusal && refusal.message);
          error.closeCode = ev.code;
          finish(error);
          return;
        }
        this.#established = false;
        this.#onClose(ev.code, ev.reason);
      };
    });
  }

  /** Sends a request; resolves with its reply, rejects with {code, message} on an error frame. */
  request(msg, timeoutMs = 20000) {
    if (!this.isOpen) return Promise.reject(notConnected(msg.type));
    const rid = this.#nextRid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(otError(Errors.TIMEOUT, `no reply to "${msg.type}" within ${Math.round(timeoutMs / 1000)} s`,
          ExceptionCodes.UNEXPECTED_SERVER_RESPONSE));
      }, timeoutMs);
      this.#pending.set(rid, { resolve, reject, timer });
      try {
        this.#ws.send(JSON.stringify({ ...msg, rid }));
      } catch {
        clearTimeout(timer);
        this.#pending.delete(rid);
        reject(notConnected(msg.type));
      }
    });
  }

  /** A request whose reply nobody waits for. */
  send(msg) {
    if (!this.isOpen) return;
    try {
      this.#ws.send(JSON.stringify({ ...msg, rid: this.#nextRid() }));
    } catch {
      // the close event reports the loss
    }
  }

  /** Closes the WebSocket without reporting it to onClose (the caller knows). */
  abort(code = 1000) {
    const ws = this.#ws;
    this.#ws = null;
    this.#established = false;
    this.#stopHeartbeat();
    this.#rejectPending();
    if (ws) {
      try { ws.close(code); } catch { /* already closed */ }
    }
  }

  #startHeartbeat(ws) {
    this.#stopHeartbeat();
    this.#lastHeard = Date.now();
    this.#heartbeat = setInterval(() => {
      if (this.#ws !== ws || !this.#established) {
        this.#stopHeartbeat();
        return;
      }
      const quiet = Date.now() - this.#lastHeard;
      if (quiet >= DEAD_MS) {
        this.#lose(ws, `nothing from the server for ${Math.round(quiet / 1000)} s`);
      } else if (quiet >= HEARTBEAT_MS) {
        this.send({ type: 'ping' });
      }
    }, 1000);
  }

  /**
   * Something suggests the network went away (a peer connection went quiet): a `ping` now, and
   * the connection is taken as lost if nothing comes back within `timeoutMs`.
   */
  probe(timeoutMs = 1500) {
    const ws = this.#ws;
    if (!this.isOpen) return;
    const heard = this.#lastHeard;
    this.send({ type: 'ping' });
    setTimeout(() => {
      if (this.#ws === ws && this.#established && this.#lastHeard === heard) this.#lose(ws, `no answer to a ping within ${timeoutMs} ms`);
    }, timeoutMs);
  }

  #lose(ws, why) {
    log.warn(`signaling: ${why}; the connection is lost`);
    this.#ws = null;
    this.#established = false;
    this.#stopHeartbeat();
    this.#rejectPending();
    try { ws.close(4000, 'heartbeat lost'); } catch { /* already closed */ }
    this.#onClose(1006, 'heartbeat lost');
  }

  #stopHeartbeat() {
    clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  #nextRid() {
    this.#rid += 1;
    return this.#rid;
  }

  #handle(msg) {
    if (msg.rid !== undefined && msg.rid !== null && this.#pending.has(msg.rid)) {
      const p = this.#pending.get(msg.rid);
      this.#pending.delete(msg.rid);
      clearTimeout(p.timer);
      if (msg.type === 'error') {
        const err = new Error(msg.message || 'error');
        err.code = msg.code;
        err.name = 'ServerError';
        p.reject(err);
      } else {
        p.resolve(msg);
      }
      return;
    }
    this.#onMessage(msg);
  }

  #rejectPending() {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(notConnected());
    }
    this.#pending.clear();
  }
}
