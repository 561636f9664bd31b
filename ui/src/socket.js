// The WebSocket: a one-time ticket (POST /v1/ws/ticket) opens it, so no
// token is ever in its URL. It reconnects by itself with exponential
// backoff and jitter, and after each reconnect resumes every run it follows
// from the last `seq` seen (`resume` with `after_seq`) and resends messages
// not yet accepted (their `client_msg_id` makes that idempotent). A dead
// link is noticed by an application ping every 20 s.

const PING_EVERY_MS = 20_000;
const PONG_WITHIN_MS = 10_000;
const MAX_BACKOFF_MS = 15_000;

export class RunSocket {
  /**
   * `handlers`: onAccepted(frame), onError(frame),
   * onState('connecting' | 'open' | 'waiting'), onRevoked().
   */
  constructor(session, store, handlers) {
    this.session = session;
    this.store = store;
    this.handlers = handlers;
    this.ws = null;
    this.ready = false;
    this.attempts = 0;
    this.followed = new Set();
    this.pending = new Map();
    this.stopped = true;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    window.addEventListener('offline', () => this.ws?.close(4000, 'offline'));
    window.addEventListener('online', () => {
      if (!this.stopped && !this.ws) this.#connectNow();
    });
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.#connectNow();
  }

  /** Closes for good (sign-out). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.#clearPing();
    this.followed.clear();
    this.pending.clear();
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    ws?.close(1000, 'signed out');
  }

  /** Follows a run: replays what was missed after the last seen `seq`, then live. */
  follow(runId) {
    this.followed.add(runId);
    if (this.ready) this.#send({ type: 'resume', run_id: runId, after_seq: this.store.lastSeq(runId) });
  }

  unfollow(runId) {
    this.followed.delete(runId);
  }

  /** Sends a user message; resent after a reconnect until accepted. */
  sendMessage(frame) {
    this.pending.set(frame.client_msg_id, frame);
    if (this.ready) this.#send(frame);
  }

  /** Asks to stop a run; over HTTP when the socket is down. */
  async stopRun(runId) {
    if (this.ready) {
      this.#send({ type: 'stop_run', run_id: runId });
    } else {
      await this.session.json(`/v1/runs/${encodeURIComponent(runId)}/cancel`, { method: 'POST' });
      await this.store.fill(runId);
    }
  }

  #send(frame) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  async #connectNow() {
    clearTimeout(this.retryTimer);
    if (this.stopped || this.ws) return;
    this.handlers.onState('connecting');
    let ticket;
    try {
      ({ ticket } = await this.session.json('/v1/ws/ticket', { method: 'POST' }));
    } catch (e) {
      if (this.session.signedIn) this.#retry();
      return;
    }
    if (this.stopped || this.ws) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/v1/ws?ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    ws.onmessage = (msg) => this.#onFrame(msg.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      this.#clearPing();
      if (e.code === 4001) {
        this.stopped = true;
        this.handlers.onRevoked();
        return;
      }
      this.#retry();
    };
  }

  #retry() {
    if (this.stopped) return;
    this.handlers.onState('waiting');
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts);
    this.attempts += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => this.#connectNow(), delay);
  }

  #clearPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  #onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    clearTimeout(this.pongTimer);
    switch (frame.type) {
      case 'connection_ready':
        this.ready = true;
        this.attempts = 0;
        this.handlers.onState('open');
        for (const runId of this.followed) {
          this.#send({ type: 'resume', run_id: runId, after_seq: this.store.lastSeq(runId) });
        }
        for (const pending of this.pending.values()) this.#send(pending);
        this.pingTimer = setInterval(() => {
          this.#send({ type: 'ping' });
          this.pongTimer = setTimeout(() => this.ws?.close(4000, 'no pong'), PONG_WITHIN_MS);
        }, PING_EVERY_MS);
        break;
      case 'pong':
        break;
      case 'message_accepted':
        this.pending.delete(frame.client_msg_id);
        this.followed.add(frame.run_id);
        this.handlers.onAccepted(frame);
        break;
      case 'error':
        this.handlers.onError(frame);
        break;
      default:
        if (typeof frame.seq === 'number' && frame.run_id) {
          // A gap that could not be filled: reconnect, and the resume fills it.
          this.store.add(frame).catch(() => this.ws?.close(4000, 'resync'));
        }
    }
  }
}
