// One run on screen: a timeline with a step per agent (its task, thinking,
// each tool call with its arguments and result summary, its duration), the
// run's status with a Stop button while it runs, then the answer rendered
// from Markdown. Every event is one entry carrying its `seq`.

import { h, replace, duration } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { isTerminal, statusOf } from './runs.js';

const AGENT_NAMES = {
  supervisor: 'Supervisor',
  triage: 'Triage',
  data: 'Data',
  optimisation: 'Optimisation',
  reporting: 'Reporting',
};

const STATUS_TEXT = {
  running: 'Running…',
  completed: 'Completed',
  cancelled: 'Stopped',
  failed: 'Failed',
};

function json(value, limit = 4000) {
  const text = JSON.stringify(value, null, 2) ?? '';
  return text.length > limit ? `${text.slice(0, limit)}\n…` : text;
}

export class RunView {
  /** `actions`: onStop(runId), onReport(runId). */
  constructor(runId, actions, { open = true, fallbackAnswer = null } = {}) {
    this.runId = runId;
    this.actions = actions;
    this.fallbackAnswer = fallbackAnswer;
    this.steps = new Map();
    this.starts = new Map();
    this.status = h('span', { class: 'badge', role: 'status' });
    this.stop = h('button', { type: 'button', class: 'danger small', onclick: () => this.#stop() }, 'Stop');
    // Not a live region: each entry would be read out; the page announces start and end instead.
    this.list = h('ol', { class: 'timeline', 'aria-label': 'Run timeline' });
    this.details = h(
      'details',
      { class: 'run-details', open },
      h('summary', {}, 'Run timeline'),
      this.list,
    );
    this.answer = h('div', { class: 'answer', hidden: true });
    this.el = h(
      'section',
      { class: 'run', dataset: { runId, status: 'running' }, 'aria-label': 'Agent run' },
      h('header', { class: 'run-head' }, this.status, this.stop),
      this.details,
      this.answer,
    );
    this.#setStatus('running');
  }

  #stop() {
    this.stop.disabled = true;
    this.stop.textContent = 'Stopping…';
    this.actions.onStop(this.runId);
  }

  #setStatus(status) {
    this.el.dataset.status = status;
    this.status.className = `badge ${status}`;
    this.status.textContent = STATUS_TEXT[status] ?? status;
    this.stop.hidden = status !== 'running';
  }

  #step(agent) {
    let step = this.steps.get(agent);
    if (!step) {
      const entries = h('ol', { class: 'entries' });
      const time = h('span', { class: 'muted step-time' });
      const el = h(
        'li',
        { class: 'step', dataset: { agent, state: 'running' } },
        h('div', { class: 'step-head' }, h('strong', {}, AGENT_NAMES[agent] ?? agent), time),
        entries,
      );
      step = { el, entries, time };
      this.steps.set(agent, step);
      this.list.append(el);
    }
    return step;
  }

  #entry(step, ev, ...content) {
    step.entries.append(
      h('li', { class: `entry ${ev.type}`, dataset: { seq: ev.seq, type: ev.type } }, ...content),
    );
  }

  /** Shows one event (the store calls this once per `seq`, in order). */
  add(ev) {
    const p = ev.payload ?? {};
    if (ev.type === 'run_failed' || ev.type === 'run_cancelled') {
      const step = this.#step('supervisor');
      this.#entry(step, ev, h('span', {}, ev.type === 'run_failed' ? 'Run failed: ' : 'Run stopped: ', p.reason ?? ''));
      step.el.dataset.state = 'done';
      this.#setStatus(ev.type === 'run_failed' ? 'failed' : 'cancelled');
      return;
    }
    const step = this.#step(p.agent ?? 'supervisor');
    switch (ev.type) {
      case 'agent_started':
        this.starts.set(p.agent, Date.parse(ev.ts));
        this.#entry(step, ev, h('span', { class: 'task' }, p.task ?? ''));
        break;
      case 'agent_thinking':
        this.#entry(step, ev, h('span', { class: 'thinking' }, p.text ?? ''));
        break;
      case 'tool_executing':
        this.#entry(
          step,
          ev,
          h('span', {}, 'Runs tool ', h('code', {}, p.tool ?? '')),
          h('details', { class: 'args' }, h('summary', {}, 'Arguments'), h('pre', {}, json(p.args))),
        );
        break;
      case 'tool_completed':
        this.#entry(
          step,
          ev,
          h('span', { class: p.ok ? 'ok' : 'fail' }, p.ok ? '✓ ' : '✗ '),
          h('code', {}, p.tool ?? ''),
          ' ',
          h('span', {}, p.summary ?? ''),
          ' ',
          h('span', { class: 'muted' }, duration(p.duration_ms)),
          h('details', { class: 'args' }, h('summary', {}, 'Result'), h('pre', {}, json(p.result))),
        );
        break;
      case 'agent_completed': {
        const started = this.starts.get(p.agent);
        step.time.textContent = started ? duration(Date.parse(ev.ts) - started) : '';
        step.el.dataset.state = p.status === 'failed' ? 'failed' : 'done';
        this.#entry(step, ev, h('span', { class: 'summary' }, p.summary ?? ''));
        if (p.agent === 'supervisor') this.#finish(p.final_response);
        break;
      }
      default:
        this.#entry(step, ev, h('span', {}, ev.type));
    }
  }

  #finish(markdown) {
    this.#setStatus('completed');
    const text = markdown ?? this.fallbackAnswer;
    if (text == null) return;
    replace(
      this.answer,
      h('div', { class: 'markdown' }, renderMarkdown(text)),
      h(
        'p',
        { class: 'answer-actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => this.actions.onReport(this.runId) }, 'Open report'),
      ),
    );
    this.answer.hidden = false;
  }

  /** Shows every event already in the store. */
  addAll(events) {
    for (const ev of events) this.add(ev);
    if (events.length && !isTerminal(events[events.length - 1])) this.#setStatus(statusOf(events));
  }
}
