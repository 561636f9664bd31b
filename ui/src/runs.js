// Runs as the page knows them: each run's events in `seq` order, exactly
// once, whichever way they arrive (the history over HTTP, live over the
// WebSocket, a replay after a reconnect). A gap is filled from
// GET /v1/runs/{id}/events?after=SEQ before anything after it is shown.

/** True for the event that ends a run. */
export function isTerminal(ev) {
  return (
    ev.type === 'run_failed' ||
    ev.type === 'run_cancelled' ||
    (ev.type === 'agent_completed' && ev.payload?.agent === 'supervisor')
  );
}

/** The status a run's last event implies. */
export function statusOf(events) {
  const last = events[events.length - 1];
  if (!last || !isTerminal(last)) return 'running';
  if (last.type === 'run_failed') return 'failed';
  if (last.type === 'run_cancelled') return 'cancelled';
  return 'completed';
}

export class RunStore {
  constructor(session) {
    this.session = session;
    this.runs = new Map();
  }

  /** The run's state, created empty on first use. */
  get(runId) {
    let run = this.runs.get(runId);
    if (!run) {
      run = { id: runId, events: [], lastSeq: 0, listeners: new Set(), filling: null };
      this.runs.set(runId, run);
    }
    return run;
  }

  lastSeq(runId) {
    return this.get(runId).lastSeq;
  }

  isFinished(runId) {
    const run = this.get(runId);
    return run.events.length > 0 && isTerminal(run.events[run.events.length - 1]);
  }

  /** Calls `fn(event)` for each new event of the run; returns the unsubscribe function. */
  listen(runId, fn) {
    const run = this.get(runId);
    run.listeners.add(fn);
    return () => run.listeners.delete(fn);
  }

  /** Adds one event: ignored when already seen, a gap is filled first. */
  async add(ev) {
    const run = this.get(ev.run_id);
    if (ev.seq <= run.lastSeq) return;
    if (ev.seq > run.lastSeq + 1) {
      await this.fill(ev.run_id);
      if (ev.seq <= run.lastSeq) return;
    }
    if (ev.seq !== run.lastSeq + 1) return;
    run.events.push(ev);
    run.lastSeq = ev.seq;
    for (const fn of run.listeners) fn(ev);
  }

  /** Fetches every persisted event after the last one seen (one request at a time per run). */
  fill(runId) {
    const run = this.get(runId);
    if (!run.filling) {
      run.filling = (async () => {
        for (;;) {
          const page = await this.session.json(
            `/v1/runs/${encodeURIComponent(runId)}/events?after=${run.lastSeq}&limit=500`,
          );
          for (const ev of page.events) {
            if (ev.seq <= run.lastSeq) continue;
            if (ev.seq !== run.lastSeq + 1) break;
            run.events.push(ev);
            run.lastSeq = ev.seq;
            for (const fn of run.listeners) fn(ev);
          }
          if (page.events.length < 500) return page.status;
        }
      })().finally(() => {
        run.filling = null;
      });
    }
    return run.filling;
  }
}
