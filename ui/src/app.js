// The Apex web UI: sign-in, threads and the chat with the live run
// timeline, datasets, and the report. Plain modules, no framework; the
// page talks only to the backend it was served by.

import { ApiError, Session, describe } from './api.js';
import { h, replace, usd, bytes, when, download } from './dom.js';
import { RunStore } from './runs.js';
import { RunSocket } from './socket.js';
import { RunView } from './timeline.js';
import { spendByModel, savingsByRecommendation } from './charts.js';

const session = new Session();
const store = new RunStore(session);
const app = document.getElementById('app');
const live = document.getElementById('announce');

const state = {
  threads: [],
  datasets: [],
  /** The open thread (null for a new conversation). */
  thread: null,
  /** The dataset chosen for a conversation that has no thread yet. */
  draftDataset: null,
  /** RunView per run id, on the open thread. */
  views: new Map(),
  charts: [],
  signedOutReason: null,
};

let chat = null;
let connection = null;

const socket = new RunSocket(session, store, {
  onAccepted: (frame) => onAccepted(frame),
  onError: (frame) => {
    if (!frame.run_id) socket.pending.clear();
    notice(`${frame.message} (${frame.code})`, 'error');
  },
  onState: (s) => {
    if (connection) {
      connection.dataset.state = s;
      connection.textContent = { open: 'Live', connecting: 'Connecting…', waiting: 'Reconnecting…' }[s] ?? s;
    }
  },
  onRevoked: () => signedOut(new ApiError(401, 'session_revoked', 'session revoked')),
});

session.onSignedOut = (err) => signedOut(err);

function announce(text) {
  live.textContent = text;
}

function notice(text, kind = 'info') {
  const region = document.getElementById('notices');
  if (!region) return;
  const el = h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text,
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'));
  region.append(el);
  setTimeout(() => el.remove(), 15_000);
}

// ---------------------------------------------------------------- sign-in

function signedOut(err) {
  socket.stop();
  if (session.signedIn) {
    session.forget();
    session.clearCookie();
  }
  state.signedOutReason = err ? describe(err) : null;
  state.threads = [];
  state.datasets = [];
  state.thread = null;
  if (location.hash !== '#/signin') history.replaceState(null, '', '#/signin');
  renderAuth();
}

function renderAuth(mode = 'signin') {
  destroyCharts();
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error' }, state.signedOutReason ?? '');
  state.signedOutReason = null;
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', {
    id: 'password', name: 'password', type: 'password', required: true, minlength: 8,
    autocomplete: mode === 'signin' ? 'current-password' : 'new-password',
  });
  const name = h('input', { id: 'name', name: 'name', type: 'text', autocomplete: 'name' });
  const submit = h('button', { type: 'submit' }, mode === 'signin' ? 'Sign in' : 'Create account');
  const form = h('form', { class: 'auth-form', novalidate: false, 'aria-describedby': 'auth-error' },
    h('h1', {}, mode === 'signin' ? 'Sign in to Apex' : 'Create your Apex account'),
    mode === 'signup' ? h('label', { for: 'name' }, 'Name (optional)') : null,
    mode === 'signup' ? name : null,
    h('label', { for: 'email' }, 'Email'), email,
    h('label', { for: 'password' }, 'Password'), password,
    mode === 'signup' ? h('p', { class: 'muted small' }, 'At least 12 characters; a passphrase works well.') : null,
    error,
    submit,
    h('p', {}, mode === 'signin' ? 'No account yet? ' : 'Already have an account? ',
      h('button', { type: 'button', class: 'link', onclick: () => renderAuth(mode === 'signin' ? 'signup' : 'signin') },
        mode === 'signin' ? 'Create one' : 'Sign in')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      if (mode === 'signin') await session.signIn(email.value.trim(), password.value);
      else await session.signUp(email.value.trim(), password.value, name.value.trim());
      await enter();
    } catch (err) {
      error.textContent = describe(err);
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  replace(app, h('main', { class: 'auth', id: 'main' }, h('div', { class: 'brand big' }, 'Apex'), form));
  email.focus();
}

// ---------------------------------------------------------------- shell

async function enter() {
  socket.start();
  renderShell();
  await Promise.all([loadThreads(), loadDatasets()]);
  if (!location.hash || location.hash === '#/signin') location.hash = state.threads[0] ? `#/t/${state.threads[0].id}` : '#/new';
  else route();
}

function renderShell() {
  connection = h('span', { class: 'conn', dataset: { state: 'connecting' }, role: 'status' }, 'Connecting…');
  const nav = h('nav', { class: 'sidebar', id: 'sidebar', 'aria-label': 'Threads' },
    h('button', { type: 'button', class: 'new-thread', onclick: () => { location.hash = '#/new'; closeSidebar(); } }, '+ New conversation'),
    h('ul', { class: 'threads', id: 'threads' }),
    h('a', { href: '#/datasets', class: 'nav-link', onclick: closeSidebar }, 'Datasets'),
  );
  const header = h('header', { class: 'topbar' },
    h('button', { type: 'button', class: 'menu', 'aria-controls': 'sidebar', 'aria-expanded': 'false', onclick: toggleSidebar }, 'Threads'),
    h('a', { class: 'brand', href: '#/' }, 'Apex'),
    connection,
    h('span', { class: 'user muted', id: 'user' }, session.user?.email ?? ''),
    h('button', { type: 'button', class: 'secondary small', id: 'signout', onclick: () => session.signOut() }, 'Sign out'),
  );
  replace(app,
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    header,
    h('div', { class: 'layout' }, nav, h('main', { id: 'main', tabindex: '-1' }),
    ),
    h('div', { id: 'notices', class: 'notices' }),
  );
}

function toggleSidebar() {
  const open = document.body.classList.toggle('sidebar-open');
  document.querySelector('.menu')?.setAttribute('aria-expanded', String(open));
}

function closeSidebar() {
  document.body.classList.remove('sidebar-open');
  document.querySelector('.menu')?.setAttribute('aria-expanded', 'false');
}

async function loadThreads() {
  const page = await session.json('/v1/threads?limit=200');
  state.threads = page.items;
  renderThreadList();
}

async function loadDatasets() {
  state.datasets = await session.json('/v1/datasets');
}

function renderThreadList() {
  const list = document.getElementById('threads');
  if (!list) return;
  replace(list, state.threads.map((t) =>
    h('li', {}, h('a', {
      href: `#/t/${t.id}`,
      'aria-current': state.thread?.id === t.id ? 'page' : null,
      onclick: closeSidebar,
    }, t.title))));
}

function main() {
  return document.getElementById('main');
}

function destroyCharts() {
  for (const c of state.charts) c.destroy();
  state.charts = [];
}

async function route() {
  if (!session.signedIn) return;
  destroyCharts();
  for (const view of state.views.values()) socket.unfollow(view.runId);
  state.views.clear();
  const [, kind, id] = location.hash.split('/');
  try {
    if (kind === 't' && id) await openThread(id);
    else if (kind === 'datasets') await renderDatasets();
    else if (kind === 'report' && id) await renderReport(id);
    else renderChat(null, []);
    if (kind !== 't') window.scrollTo(0, 0);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      replace(main(), h('p', { class: 'empty' }, 'That page does not exist (or is not yours). ', h('a', { href: '#/new' }, 'Start a conversation')));
    } else if (session.signedIn) {
      replace(main(), h('p', { class: 'form-error', role: 'alert' }, describe(err)));
    }
  }
  renderThreadList();
}

// ---------------------------------------------------------------- chat

async function openThread(id) {
  const [thread, messages] = await Promise.all([
    session.json(`/v1/threads/${encodeURIComponent(id)}`),
    allMessages(id),
  ]);
  renderChat(thread, messages);
}

async function allMessages(threadId) {
  const items = [];
  let after = '';
  for (;;) {
    const page = await session.json(`/v1/threads/${encodeURIComponent(threadId)}/messages?limit=200${after}`);
    items.push(...page.items);
    if (!page.next) return items;
    after = `&after=${encodeURIComponent(page.next)}`;
  }
}

function datasetPicker(selected, onChange) {
  const select = h('select', { id: 'dataset', onchange: () => onChange(select.value || null) },
    h('option', { value: '' }, 'No dataset'),
    state.datasets.map((d) => h('option', { value: d.id, selected: d.id === selected }, `${d.name} (${d.records.toLocaleString()} records)`)),
  );
  return h('div', { class: 'picker' }, h('label', { for: 'dataset' }, 'Dataset'), select);
}

function chatHead(thread) {
  const selected = thread ? thread.dataset_id : state.draftDataset;
  const title = h('h1', { class: 'thread-title', id: 'thread-title' }, thread ? thread.title : 'New conversation');
  const tools = thread
    ? h('div', { class: 'thread-tools' },
      h('button', { type: 'button', class: 'secondary small', onclick: () => renameThread(thread, title) }, 'Rename'),
      h('button', { type: 'button', class: 'danger small', onclick: () => deleteThread(thread) }, 'Delete'))
    : null;
  const picker = datasetPicker(selected, async (value) => {
    if (state.thread) {
      state.thread = await session.json(`/v1/threads/${state.thread.id}`, { method: 'PATCH', body: { dataset_id: value } });
    } else {
      state.draftDataset = value;
    }
  });
  return h('div', { class: 'chat-head', id: 'chat-head' }, title, tools, picker);
}

function renderChat(thread, messages) {
  state.thread = thread;
  const sampleCta = state.datasets.length === 0
    ? h('div', { class: 'callout' },
      h('p', {}, 'Apex answers from your own usage data. No data yet? Try the sample workload (30 days of a realistic team), or upload yours under ', h('a', { href: '#/datasets' }, 'Datasets'), '.'),
      h('button', { type: 'button', id: 'use-sample', onclick: (e) => useSample(e.currentTarget) }, 'Use sample data'))
    : null;
  const log = h('div', { class: 'messages', id: 'messages' });
  const input = h('textarea', {
    id: 'composer', rows: 2, required: true, maxlength: 16000,
    placeholder: 'Ask about your AI spend, e.g. "How can I cut my AI costs by 30%?"',
    'aria-label': 'Message',
  });
  const send = h('button', { type: 'submit' }, 'Send');
  const form = h('form', { class: 'composer' }, input, send);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    sendMessage(content);
    input.value = '';
  });
  chat = { log };
  replace(main(),
    chatHead(thread),
    sampleCta,
    log,
    form,
  );
  const runIds = [];
  const byRun = new Map(messages.filter((m) => m.role === 'assistant' && m.run_id).map((m) => [m.run_id, m]));
  for (const m of messages) {
    if (m.role === 'user') {
      log.append(userBubble(m.content));
      if (m.run_id) runIds.push(m.run_id);
      if (m.run_id) log.append(mountRun(m.run_id, { open: false, fallbackAnswer: byRun.get(m.run_id)?.content }).el);
    }
  }
  if (!messages.length) log.append(h('p', { class: 'empty' }, 'Ask a question to start. Apex shows each agent and tool as it works, then the answer with its savings.'));
  const latest = runIds[runIds.length - 1];
  if (latest) state.views.get(latest).details.open = true;
  for (const runId of runIds) loadRun(runId);
  input.focus();
}

function userBubble(text) {
  return h('div', { class: 'bubble user' }, h('p', {}, text));
}

function mountRun(runId, options) {
  const view = new RunView(runId, {
    onStop: (id) => socket.stopRun(id).catch((err) => notice(describe(err), 'error')),
    onReport: (id) => { location.hash = `#/report/${id}`; },
  }, options);
  state.views.set(runId, view);
  view.addAll(store.get(runId).events);
  const off = store.listen(runId, (ev) => {
    if (!view.el.isConnected) {
      off();
      return;
    }
    view.add(ev);
    if (ev.type === 'agent_completed' && ev.payload?.agent === 'supervisor') announce('The answer is ready.');
  });
  return view;
}

/** The run's history over HTTP, then live (resumed from the last seq) while it runs. */
async function loadRun(runId) {
  try {
    await store.fill(runId);
    if (!store.isFinished(runId)) socket.follow(runId);
  } catch (err) {
    notice(describe(err), 'error');
  }
}

function sendMessage(content) {
  const clientMsgId = crypto.randomUUID();
  const frame = { type: 'user_message', client_msg_id: clientMsgId, content };
  if (state.thread) frame.thread_id = state.thread.id;
  const dataset = state.thread ? state.thread.dataset_id : state.draftDataset;
  if (dataset) frame.dataset_id = dataset;
  chat.log.querySelector('.empty')?.remove();
  const bubble = userBubble(content);
  bubble.dataset.clientMsgId = clientMsgId;
  bubble.classList.add('pending');
  chat.log.append(bubble);
  socket.sendMessage(frame);
}

async function onAccepted(frame) {
  const bubble = chat?.log.querySelector(`[data-client-msg-id="${frame.client_msg_id}"]`);
  if (!bubble) return;
  bubble.classList.remove('pending');
  if (!state.thread) {
    state.draftDataset = null;
    history.replaceState(null, '', `#/t/${frame.thread_id}`);
    state.thread = await session.json(`/v1/threads/${frame.thread_id}`);
    document.getElementById('chat-head')?.replaceWith(chatHead(state.thread));
  }
  if (!state.views.has(frame.run_id)) {
    const view = mountRun(frame.run_id, { open: true });
    bubble.after(view.el);
    view.el.scrollIntoView({ block: 'nearest' });
  }
  announce('Apex is working on it.');
  // The thread moved to the top of the list (most recently updated first).
  loadThreads().catch(() => {});
  await loadRun(frame.run_id);
}

async function renameThread(thread, title) {
  const input = h('input', { type: 'text', value: thread.title, maxlength: 200, 'aria-label': 'Thread title', class: 'rename' });
  const done = async (save) => {
    if (save && input.value.trim() && input.value.trim() !== thread.title) {
      try {
        const updated = await session.json(`/v1/threads/${thread.id}`, { method: 'PATCH', body: { title: input.value.trim() } });
        thread.title = updated.title;
        await loadThreads();
      } catch (err) {
        notice(describe(err), 'error');
      }
    }
    replace(title, thread.title);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') done(true);
    if (e.key === 'Escape') done(false);
  });
  input.addEventListener('blur', () => done(true), { once: true });
  replace(title, input);
  input.select();
}

async function deleteThread(thread) {
  if (!window.confirm(`Delete "${thread.title}" and its messages?`)) return;
  try {
    await session.json(`/v1/threads/${thread.id}`, { method: 'DELETE' });
    await loadThreads();
    location.hash = state.threads[0] ? `#/t/${state.threads[0].id}` : '#/new';
  } catch (err) {
    notice(describe(err), 'error');
  }
}

async function useSample(button) {
  button.disabled = true;
  button.textContent = 'Generating…';
  try {
    const ds = await session.json('/v1/datasets/sample', { method: 'POST' });
    await loadDatasets();
    notice(`Sample dataset ready: ${ds.records.toLocaleString()} records.`);
    if (state.thread) {
      state.thread = await session.json(`/v1/threads/${state.thread.id}`, { method: 'PATCH', body: { dataset_id: ds.id } });
    } else {
      state.draftDataset = ds.id;
    }
    if (location.hash.startsWith('#/datasets')) await renderDatasets();
    else route();
  } catch (err) {
    button.disabled = false;
    button.textContent = 'Use sample data';
    notice(describe(err), 'error');
  }
}

// ---------------------------------------------------------------- datasets

const FORMATS = ['apex-jsonl', 'apex-csv', 'otel', 'litellm', 'openai-usage', 'anthropic-usage', 'claude-code'];

async function renderDatasets() {
  state.thread = null;
  await loadDatasets();
  const file = h('input', { type: 'file', id: 'upload-file', required: true, accept: '.jsonl,.json,.csv,.ndjson,.txt' });
  const format = h('select', { id: 'upload-format' }, h('option', { value: '' }, 'Detect automatically'),
    FORMATS.map((f) => h('option', { value: f }, f)));
  const progress = h('progress', { id: 'upload-progress', max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const status = h('p', { class: 'upload-status', role: 'status', id: 'upload-status' });
  const submit = h('button', { type: 'submit' }, 'Upload');
  const form = h('form', { class: 'upload card' },
    h('h2', {}, 'Upload usage data'),
    h('p', { class: 'muted' }, 'One record per LLM call: Apex JSONL or CSV, OpenTelemetry GenAI spans, LiteLLM spend logs, OpenAI or Anthropic usage exports, Claude Code transcripts. Large files are streamed.'),
    h('label', { for: 'upload-file' }, 'File'), file,
    h('label', { for: 'upload-format' }, 'Format'), format,
    submit, progress, status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    submit.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = `Uploading ${chosen.name} (${bytes(chosen.size)})…`;
    const query = new URLSearchParams({ name: chosen.name });
    if (format.value) query.set('format', format.value);
    try {
      const ds = await session.upload(`/v1/datasets?${query}`, chosen, (f) => {
        progress.value = f;
        if (f >= 1) status.textContent = 'Importing…';
      });
      status.textContent = `Imported ${ds.records.toLocaleString()} records as ${ds.format}.`;
      form.reset();
      await loadDatasets();
      replace(list, datasetItems());
    } catch (err) {
      status.textContent = describe(err);
      status.setAttribute('role', 'alert');
    } finally {
      submit.disabled = false;
      progress.hidden = true;
    }
  });
  const list = h('ul', { class: 'datasets', id: 'dataset-list' }, datasetItems());
  replace(main(),
    h('h1', {}, 'Datasets'),
    h('div', { class: 'dataset-actions' },
      h('button', { type: 'button', id: 'use-sample', onclick: (e) => useSample(e.currentTarget) }, 'Use sample data')),
    form,
    h('h2', {}, 'Your datasets'),
    list,
  );
}

function datasetItems() {
  if (!state.datasets.length) return h('li', { class: 'empty' }, 'No datasets yet.');
  return state.datasets.map((d) => {
    const report = d.import_report ?? {};
    const skipped = report.skipped ?? [];
    return h('li', { class: 'card dataset', dataset: { datasetId: d.id } },
      h('div', { class: 'dataset-head' },
        h('strong', {}, d.name),
        h('span', { class: 'badge format', title: 'Detected format' }, d.format),
        h('button', { type: 'button', class: 'danger small', onclick: () => deleteDataset(d) }, 'Delete')),
      h('p', { class: 'muted' }, `${d.records.toLocaleString()} records · ${bytes(d.bytes)} · ${when(d.created_at)}`,
        report.duplicates_dropped ? ` · ${report.duplicates_dropped} duplicates dropped` : ''),
      skipped.length || report.skipped_count
        ? h('details', { class: 'import-errors', open: true },
          h('summary', {}, `${report.skipped_count ?? skipped.length} line(s) skipped`),
          h('ul', {}, skipped.map((s) => h('li', {}, h('span', { class: 'line' }, `Line ${s.line}: `), s.reason))))
        : null,
    );
  });
}

async function deleteDataset(d) {
  if (!window.confirm(`Delete the dataset "${d.name}"?`)) return;
  try {
    await session.json(`/v1/datasets/${d.id}`, { method: 'DELETE' });
    await renderDatasets();
  } catch (err) {
    notice(describe(err), 'error');
  }
}

// ---------------------------------------------------------------- report

async function fetchReport(runId) {
  // The report is stored a moment after the run's last event: retry briefly.
  for (let i = 0; ; i += 1) {
    try {
      const r = await session.json(`/v1/runs/${encodeURIComponent(runId)}/report`);
      if (r.report || i >= 10) return r;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'run_not_finished') || i >= 10) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function exportReport(runId, fmt) {
  const ext = { md: 'md', html: 'html', json: 'json' }[fmt];
  try {
    const resp = await session.fetch(`/v1/runs/${encodeURIComponent(runId)}/report?format=${fmt}`);
    download(await resp.blob(), `apex-report-${runId}.${ext}`);
  } catch (err) {
    notice(describe(err), 'error');
  }
}

async function renderReport(runId) {
  state.thread = null;
  const data = await fetchReport(runId);
  const back = h('a', { href: `#/t/${data.thread_id}` }, '← Back to the conversation');
  const exports = h('div', { class: 'exports', role: 'group', 'aria-label': 'Export the report' },
    ['md', 'html', 'json'].map((fmt) => {
      const b = h('button', { type: 'button', class: 'secondary small', dataset: { format: fmt } },
        { md: 'Export Markdown', html: 'Export HTML', json: 'Export JSON' }[fmt]);
      b.addEventListener('click', () => exportReport(runId, fmt));
      return b;
    }));
  const r = data.report;
  if (!r) {
    replace(main(), back, h('h1', {}, 'Report'), exports,
      h('p', { class: 'empty' }, 'This answer has no analysis behind it (no dataset, or not a question about the data), so there is nothing to chart.'));
    return;
  }
  const recs = r.recommendations ?? [];
  const best = recs.reduce((m, x) => Math.max(m, x.monthly_savings_usd ?? 0), 0);
  const spendCanvas = h('canvas', { id: 'chart-spend', role: 'img', 'aria-label': 'Spend by model per day' });
  const savingsCanvas = h('canvas', { id: 'chart-savings', role: 'img', 'aria-label': 'Estimated monthly savings by recommendation' });
  const table = h('div', { class: 'table-scroll' }, h('table', { class: 'recs' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Recommendation'), h('th', { scope: 'col', class: 'num' }, 'Saving / month'),
      h('th', { scope: 'col' }, 'Confidence'), h('th', { scope: 'col' }, 'What to do'))),
    h('tbody', {}, recs.map((x) => h('tr', {},
      h('td', {}, x.title), h('td', { class: 'num' }, usd(x.monthly_savings_usd)), h('td', {}, x.confidence), h('td', {}, x.action)))),
  ));
  replace(main(),
    back,
    h('h1', {}, 'Report'),
    h('p', { class: 'kpis' },
      h('span', {}, h('strong', {}, usd(r.breakdown?.totals?.monthly_usd)), ' spend per month'),
      h('span', {}, h('strong', {}, usd(best)), ' per month from the largest of ', h('strong', {}, String(recs.length)), ' recommendations'),
      h('span', { class: 'muted' }, `Prices of ${r.catalogue_date}`)),
    exports,
    h('section', { class: 'card chart-card' }, h('h2', {}, 'Spend by model over time'), h('div', { class: 'chart' }, spendCanvas)),
    h('section', { class: 'card chart-card' }, h('h2', {}, 'Savings by recommendation'), h('div', { class: 'chart' }, savingsCanvas)),
    h('section', { class: 'card' }, h('h2', {}, 'Recommendations'),
      h('p', { class: 'muted small' }, 'Savings overlap (batching, substitution and caching can concern the same calls): do not add them up.'),
      table),
    (r.notes ?? []).length ? h('section', { class: 'card' }, h('h2', {}, 'Notes'), h('ul', {}, r.notes.map((n) => h('li', {}, n)))) : null,
  );
  drawCharts(r);
}

function drawCharts(r) {
  destroyCharts();
  const spend = document.getElementById('chart-spend');
  const savings = document.getElementById('chart-savings');
  if (!spend || !savings) return;
  state.charts.push(spendByModel(spend, r.breakdown?.by_day ?? []));
  state.charts.push(savingsByRecommendation(savings, r.recommendations ?? []));
  state.lastReport = r;
}

window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  if (state.charts.length && state.lastReport) drawCharts(state.lastReport);
});

// ---------------------------------------------------------------- start

window.addEventListener('hashchange', () => {
  document.getElementById('notices')?.replaceChildren();
  if (session.signedIn) route();
});

(async () => {
  try {
    if (await session.restore()) {
      await enter();
      return;
    }
  } catch (err) {
    state.signedOutReason = describe(err);
  }
  renderAuth();
})();
