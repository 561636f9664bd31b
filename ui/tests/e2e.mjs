// The web UI in a real browser against a real `apex up`.
//
// Starts the `apex` binary (`APEX_BIN`, else `$CARGO_TARGET_DIR/debug/apex`,
// else `target/debug/apex`) with `apex up` on a fresh data directory and
// free ports, with the backend's run pacing on so a run is reliably still
// going when the test reloads or stops it. Drives Debian's Chromium
// (/usr/bin/chromium, or `APEX_CHROMIUM`) with Playwright through the whole
// product: sign up, sample data, a question answered live (the five event
// kinds, the answer with savings), a reload mid-run and a network drop
// mid-run (resumed with nothing missing or doubled, checked against
// GET /v1/runs/{id}/events), stopping a run, the report with both charts and
// its exports, datasets with import errors, a phone-sized window, sign-out,
// a wrong password, and a session revoked elsewhere.
//
// Screenshots of every step go to target/ui-screenshots/ (or
// APEX_UI_SCREENSHOTS); at least one is checked not to be blank. Exits 1 on
// the first failure, after a screenshot and the tail of the services' logs.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = path.resolve(process.env.APEX_UI_SCREENSHOTS ?? path.join(ROOT, 'target', 'ui-screenshots'));
const APEX_BIN =
  process.env.APEX_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'debug', 'apex');
const CHROMIUM = process.env.APEX_CHROMIUM ?? '/usr/bin/chromium';
const QUESTION = 'how can I cut my AI costs by 30%?';
const PASSWORD = 'correct horse battery staple';
const EVENT_KINDS = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'];
const RUN_TIMEOUT = 180_000;

// ------------------------------------------------------------ plumbing

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `apex up` on a fresh data directory; resolves with the URL it prints. */
async function startApex(dataDir) {
  const [authPort, backendPort] = [await freePort(), await freePort()];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('APEX_') && k !== 'DATABASE_URL'));
  Object.assign(env, {
    APEX_AUTH_BIND: `127.0.0.1:${authPort}`,
    APEX_BACKEND_BIND: `127.0.0.1:${backendPort}`,
    APEX_BACKEND_RUN_EVENT_DELAY_MS: '300',
    APEX_LOG: 'info',
  });
  const log = fs.openSync(path.join(dataDir, 'apex-up.log'), 'a');
  const child = spawn(APEX_BIN, ['up', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', log] });
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`apex up printed no URL within 120 s:\n${out}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/Apex is running at (http:\/\/\S+?)\/?\s/);
      if (m && /auth service: http:\/\/\S+\s/.test(out)) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`apex up exited with ${code}:\n${out}`)));
  });
  const auth = out.match(/auth service: (http:\/\/\S+)/)?.[1];
  return { child, url, auth, log: path.join(dataDir, 'apex-up.log') };
}

function stopApex(apex) {
  if (!apex?.child || apex.child.exitCode != null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      apex.child.kill('SIGKILL');
      resolve();
    }, 15_000);
    apex.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    apex.child.kill('SIGINT');
  });
}

/** The backend's API with a token of our own (a second session of the same user). */
async function api(base, email) {
  const resp = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert(resp.status === 200, `API login answered ${resp.status}`);
  const { access_token: token } = await resp.json();
  const get = async (p) => {
    const r = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } });
    assert(r.ok, `GET ${p} answered ${r.status}`);
    return r.json();
  };
  return { token, get };
}

// ------------------------------------------------------------ page helpers

/** The seqs of one run as the timeline shows them. */
function timelineSeqs(page, runId) {
  return page.$$eval(`.run[data-run-id="${runId}"] .entry[data-seq]`, (els) => els.map((e) => Number(e.dataset.seq)));
}

async function waitEntries(page, runId, n) {
  await page.waitForFunction(
    ([id, min]) => document.querySelectorAll(`.run[data-run-id="${id}"] .entry[data-seq]`).length >= min,
    [runId, n],
    { timeout: RUN_TIMEOUT },
  );
}

async function waitStatus(page, runId, status) {
  await page.waitForSelector(`.run[data-run-id="${runId}"][data-status="${status}"]`, { timeout: RUN_TIMEOUT });
}

async function ask(page, question) {
  const before = await page.$$eval('.run', (els) => els.map((e) => e.dataset.runId));
  await page.fill('#composer', question);
  await page.press('#composer', 'Enter');
  const handle = await page.waitForFunction(
    (known) => [...document.querySelectorAll('.run')].map((e) => e.dataset.runId).find((id) => !known.includes(id)),
    before,
    { timeout: 30_000 },
  );
  return handle.jsonValue();
}

/** Every seq of the run from the API: 1..n with no gap, and the run's status. */
async function apiSeqs(client, runId) {
  const page = await client.get(`/v1/runs/${runId}/events?after=0&limit=1000`);
  return { seqs: page.events.map((e) => e.seq), status: page.status, events: page.events };
}

/** Same seqs, same order, no duplicates: nothing missing or doubled. */
async function assertComplete(page, client, runId, atLeast = 6) {
  // Grouped by agent on screen, so compared as sorted lists.
  const shown = (await timelineSeqs(page, runId)).sort((a, b) => a - b);
  const { seqs, events } = await apiSeqs(client, runId);
  assert(seqs.length >= atLeast, `the run has only ${seqs.length} events`);
  assert(new Set(shown).size === shown.length, `the timeline shows a seq twice: ${shown}`);
  assert(JSON.stringify(shown) === JSON.stringify(seqs), `timeline seqs ${shown} differ from the API's ${seqs}`);
  return events;
}

/** Decodes a PNG in the browser and counts its distinct colours and their spread. */
async function imageStats(browser, file) {
  const page = await browser.newPage();
  try {
    const data = fs.readFileSync(file).toString('base64');
    return await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, img.width, img.height).data;
      const colours = new Set();
      let sum = 0;
      let sq = 0;
      const n = px.length / 4;
      for (let i = 0; i < px.length; i += 4) {
        colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        const lum = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
        sum += lum;
        sq += lum * lum;
      }
      const mean = sum / n;
      return { width: img.width, height: img.height, colours: colours.size, variance: sq / n - mean * mean };
    }, data);
  } finally {
    await page.close();
  }
}

// ------------------------------------------------------------ the test

async function main() {
  const started = Date.now();
  fs.rmSync(SHOTS, { recursive: true, force: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apex-ui-e2e-'));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'apex-ui-chromium-'));
  let apex;
  let browser;
  let page;
  let passed = 0;
  let shot = 0;
  const shots = [];
  const consoleErrors = [];

  const capture = async (name, fullPage = true) => {
    shot += 1;
    const file = path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    // From the top, so sticky bars are drawn where a person sees them.
    if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: file, fullPage });
    shots.push(file);
    return file;
  };
  const step = async (name, fn, { fullPage = true } = {}) => {
    const t0 = Date.now();
    await fn();
    await capture(name, fullPage);
    passed += 1;
    console.log(`ok ${passed} - ${name} (${Date.now() - t0} ms)`);
  };

  try {
    assert(fs.existsSync(APEX_BIN), `the apex binary ${APEX_BIN} is missing: cargo build -p apex (or set APEX_BIN)`);
    assert(fs.existsSync(CHROMIUM), `Chromium ${CHROMIUM} is missing: apt-get install -y chromium`);
    apex = await startApex(dataDir);
    console.log(`# apex up printed ${apex.url} (auth service ${apex.auth})`);
    // A fresh profile each run (Playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
    const context = browser;
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const email = `ui-${Date.now()}@example.com`;
    let client;
    let firstRun;
    let threadUrl;

    await step('sign-up', async () => {
      await page.goto(apex.url);
      await page.click('text=Create one');
      await page.fill('#name', 'UI Test');
      await page.fill('#email', email);
      await page.fill('#password', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForSelector('#signout');
      await page.waitForSelector('.conn[data-state="open"]');
      assert((await page.textContent('#user')).includes(email), 'the signed-in email is shown');
      const cookies = await context.cookies();
      const refresh = cookies.find((c) => c.name === 'apex_refresh');
      assert(refresh && refresh.httpOnly && refresh.sameSite === 'Strict' && refresh.path === '/v1/auth', `refresh cookie ${JSON.stringify(refresh)}`);
      assert(!(await page.evaluate(() => document.cookie)).includes('apex_refresh'), 'scripts cannot read the refresh token');
      client = await api(apex.url, email);
    });

    await step('sample-data', async () => {
      await page.click('#use-sample');
      await page.waitForSelector('text=Sample dataset ready');
      const chosen = await page.$eval('#dataset', (s) => s.selectedOptions[0]?.textContent ?? '');
      assert(chosen.includes('Sample workload'), `the sample is picked for the conversation: ${chosen}`);
    });

    let seenBeforeReload;
    await step('question-live', async () => {
      firstRun = await ask(page, QUESTION);
      await waitEntries(page, firstRun, 4);
      assert((await page.getAttribute(`.run[data-run-id="${firstRun}"]`, 'data-status')) === 'running', 'the run is live');
      seenBeforeReload = (await timelineSeqs(page, firstRun)).length;
      threadUrl = page.url();
      assert(/#\/t\//.test(threadUrl), `the conversation has its own URL: ${threadUrl}`);
      assert(!/token|ticket/i.test(threadUrl), 'no token in the URL');
    });

    await step('reload-mid-run-resumed', async () => {
      const { status, seqs } = await apiSeqs(client, firstRun);
      assert(status === 'running', `the run still runs when the page reloads (${status}, ${seqs.length} events)`);
      await page.reload();
      await page.waitForSelector('#signout');
      await page.waitForSelector(`.run[data-run-id="${firstRun}"]`);
      await waitStatus(page, firstRun, 'completed');
      const events = await assertComplete(page, client, firstRun);
      assert(events.length > seenBeforeReload, 'events arrived after the reload');
      for (const kind of EVENT_KINDS) {
        const n = await page.$$eval(`.run[data-run-id="${firstRun}"] .entry[data-type="${kind}"]`, (els) => els.length);
        assert(n > 0, `the timeline shows ${kind}`);
      }
      const answer = await page.textContent(`.run[data-run-id="${firstRun}"] .answer .markdown`);
      assert(/\$\d/.test(answer), 'the answer carries savings in dollars');
      const tables = await page.$$(`.run[data-run-id="${firstRun}"] .answer .markdown table`);
      assert(tables.length > 0, 'the answer has its recommendations table');
      const tools = await page.$$(`.run[data-run-id="${firstRun}"] .entry[data-type="tool_completed"] .muted`);
      assert(tools.length > 0 && /ms|s$/.test(await tools[0].textContent()), 'tool durations are shown');
    });

    await step('network-drop-resumed', async () => {
      // Markup in a message is shown as text, never run or rendered.
      const run = await ask(page, 'Which model should we use to spend less? <img src=x onerror="window.__xss=1"><b>bold</b>');
      await waitEntries(page, run, 3);
      await context.setOffline(true);
      await page.waitForSelector('.conn:not([data-state="open"])', { timeout: 10_000 });
      await page.waitForTimeout(1500);
      await context.setOffline(false);
      await page.waitForSelector('.conn[data-state="open"]', { timeout: 30_000 });
      await waitStatus(page, run, 'completed');
      await assertComplete(page, client, run);
      const injected = await page.evaluate(() => ({
        flag: window.__xss,
        tags: document.querySelectorAll('.messages img, .messages b, .messages script').length,
        text: [...document.querySelectorAll('.bubble.user')].some((b) => b.textContent.includes('<img src=x')),
      }));
      assert(injected.flag === undefined && injected.tags === 0 && injected.text, `markup stays text: ${JSON.stringify(injected)}`);
    });

    await step('rename-thread', async () => {
      await page.click('text=Rename');
      await page.fill('input.rename', 'Cost review');
      await page.press('input.rename', 'Enter');
      await page.waitForSelector('.threads a:has-text("Cost review")');
      assert((await page.textContent('#thread-title')).includes('Cost review'), 'the title changed');
    });

    let stoppedThread;
    await step('stop-run', async () => {
      await page.click('text=+ New conversation');
      await page.waitForSelector('#thread-title:has-text("New conversation")');
      const sample = await page.$eval('#dataset option:nth-child(2)', (o) => o.value);
      await page.selectOption('#dataset', sample);
      const run = await ask(page, QUESTION);
      await waitEntries(page, run, 3);
      await page.click(`.run[data-run-id="${run}"] button:has-text("Stop")`);
      await waitStatus(page, run, 'cancelled');
      const stored = await client.get(`/v1/runs/${run}`);
      assert(stored.status === 'cancelled', `the run ended as ${stored.status}`);
      const events = await assertComplete(page, client, run, 4);
      assert(events[events.length - 1].type === 'run_cancelled', 'the last event is run_cancelled');
      stoppedThread = page.url().split('#/t/')[1];
      assert(stoppedThread, 'the new conversation got a thread');
    });

    await step('delete-thread', async () => {
      page.once('dialog', (d) => d.accept());
      await page.click('.thread-tools button:has-text("Delete")');
      await page.waitForFunction((id) => !document.querySelector(`.threads a[href="#/t/${id}"]`), stoppedThread);
      const threads = await client.get('/v1/threads');
      assert(!threads.items.some((t) => t.id === stoppedThread), 'the thread is gone');
    });

    await step('report-charts', async () => {
      await page.goto(threadUrl);
      await page.waitForSelector(`.run[data-run-id="${firstRun}"][data-status="completed"]`);
      await page.click(`.run[data-run-id="${firstRun}"] button:has-text("Open report")`);
      await page.waitForSelector('#chart-spend');
      await page.waitForSelector('#chart-savings');
      const charts = await page.evaluate(() =>
        ['chart-spend', 'chart-savings'].map((id) => {
          const chart = globalThis.Chart.getChart(id);
          const canvas = document.getElementById(id);
          const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let painted = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted += 1;
          return {
            id,
            datasets: chart?.data.datasets.length ?? 0,
            points: chart?.data.datasets.reduce((n, d) => n + d.data.filter((v) => v > 0).length, 0) ?? 0,
            painted,
          };
        }),
      );
      for (const c of charts) {
        assert(c.datasets > 0 && c.points > 0, `${c.id} has data: ${JSON.stringify(c)}`);
        assert(c.painted > 2000, `${c.id} is drawn: ${JSON.stringify(c)}`);
      }
      const rows = await page.$$('table.recs tbody tr');
      assert(rows.length > 0, 'the recommendations are listed');
    });

    await step('report-dark-mode', async () => {
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForTimeout(300);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert(bg !== 'rgb(247, 248, 250)', `dark mode follows the system: ${bg}`);
      const colours = await page.evaluate(() => ({
        chart: globalThis.Chart.getChart('chart-spend')?.options.color,
        text: getComputedStyle(document.documentElement).getPropertyValue('--fg').trim(),
      }));
      assert(colours.chart === colours.text, `the charts are redrawn in the dark theme: ${JSON.stringify(colours)}`);
    });

    await step('report-export', async () => {
      await page.emulateMedia({ colorScheme: 'light' });
      const [md] = await Promise.all([page.waitForEvent('download'), page.click('button[data-format="md"]')]);
      const mdText = fs.readFileSync(await md.path(), 'utf8');
      assert(md.suggestedFilename().endsWith('.md') && /\$\d/.test(mdText), 'the Markdown export has the answer');
      const [json] = await Promise.all([page.waitForEvent('download'), page.click('button[data-format="json"]')]);
      const report = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
      assert(report.report?.recommendations?.length > 0, 'the JSON export has the recommendations');
      const [html] = await Promise.all([page.waitForEvent('download'), page.click('button[data-format="html"]')]);
      const htmlText = fs.readFileSync(await html.path(), 'utf8');
      assert(html.suggestedFilename().endsWith('.html') && /<html/i.test(htmlText), 'the HTML export is a page');
      assert((htmlText.match(/<svg/g) || []).length >= 2, 'the HTML export has both charts');
      assert(!/<script|src="http|href="http/i.test(htmlText), 'the HTML export is self-contained');
    });

    await step('datasets-upload-errors', async () => {
      await page.goto(`${apex.url}/#/datasets`);
      await page.waitForSelector('#upload-file');
      const good = (i) =>
        JSON.stringify({ timestamp: `2025-08-20T10:0${i}:00Z`, provider: 'openai', model: 'gpt-4o-2024-08-06', input_tokens: 1200, output_tokens: 300, request_id: `r-${i}` });
      const body = [good(1), '{"this line": is not json', good(2), good(3)].join('\n');
      await page.setInputFiles('#upload-file', { name: 'usage.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(body) });
      await page.click('form.upload button[type=submit]');
      await page.waitForSelector('#upload-status:has-text("Imported 3 records")');
      const card = page.locator('.dataset', { hasText: 'usage.jsonl' });
      assert((await card.locator('.format').textContent()) === 'apex-jsonl', 'the detected format is shown');
      assert((await card.locator('.import-errors').textContent()).includes('Line 2:'), 'the import error names its line');

      // A larger file (about 8 MB): the progress bar shows while it goes up and imports.
      const lines = [];
      for (let i = 0; i < 40_000; i += 1) {
        lines.push(JSON.stringify({ timestamp: new Date(Date.UTC(2025, 7, 1) + i * 60_000).toISOString(), provider: 'anthropic', model: 'claude-sonnet-4-5', input_tokens: 2000 + (i % 500), output_tokens: 400, latency_ms: 900, request_id: `big-${i}`, feature: 'chat', user: `u-${i % 40}` }));
      }
      await page.setInputFiles('#upload-file', { name: 'big.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(lines.join('\n')) });
      await page.evaluate(() => {
        window.__progress = [];
        const watch = () => {
          const bar = document.getElementById('upload-progress');
          if (bar && !bar.hidden) window.__progress.push(bar.value);
          if (window.__progress.length < 10_000) requestAnimationFrame(watch);
        };
        watch();
      });
      await page.click('form.upload button[type=submit]');
      await page.waitForSelector('#upload-status:has-text("Imported 40,000 records")', { timeout: 60_000 });
      const seen = await page.evaluate(() => window.__progress);
      assert(seen.length > 0 && Math.max(...seen) > 0, `the progress bar showed progress: ${seen.length} frames, max ${Math.max(0, ...seen)}`);
    });

    await step('markdown-is-safe', async () => {
      // The page's own renderer on hostile Markdown: nothing active survives.
      const out = await page.evaluate(async () => {
        const { renderMarkdown } = await import('/assets/markdown.js');
        const box = document.createElement('div');
        box.append(
          renderMarkdown(
            '# Title\n\n<script>window.__md=1</script>\n\n<img src=x onerror="window.__md=2">\n\n' +
              '[click](javascript:window.__md=3) and [docs](https://example.com)\n\n| a | b |\n|---|---:|\n| <b>x</b> | $1 |\n',
          ),
        );
        return {
          active: box.querySelectorAll('script, img, iframe, [onerror], [onclick], b').length,
          hrefs: [...box.querySelectorAll('a')].map((a) => a.getAttribute('href')),
          text: box.textContent,
          table: box.querySelectorAll('table td').length,
          heading: box.querySelectorAll('h1').length,
        };
      });
      assert(out.active === 0, `no active or raw HTML element: ${JSON.stringify(out)}`);
      assert(!out.hrefs.some((h) => h && /^javascript:/i.test(h)), `no javascript: link: ${out.hrefs}`);
      assert(out.hrefs.includes('https://example.com'), 'ordinary links stay');
      assert(out.text.includes('<script>') && out.text.includes('<b>x</b>'), 'raw HTML is shown as text');
      assert(out.table === 2 && out.heading === 1, 'Markdown formatting is kept');
    });

    await step('phone-window', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(threadUrl);
      await page.waitForSelector(`.run[data-run-id="${firstRun}"]`);
      assert(!(await page.isVisible('#sidebar')), 'the thread list folds away on a phone');
      await page.click('button.menu');
      assert(await page.isVisible('#sidebar'), 'the menu opens the thread list');
      await page.keyboard.press('Tab');
      await page.click('button.menu');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 1, `no sideways scrolling (${overflow}px)`);
    }, { fullPage: false });

    await step('keyboard', async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(threadUrl);
      await page.waitForSelector('#composer');
      await page.focus('#composer');
      await page.keyboard.press('Shift+Tab');
      const focused = await page.evaluate(() => document.activeElement?.tagName);
      assert(['SELECT', 'BUTTON', 'A', 'INPUT'].includes(focused), `focus moves by keyboard (${focused})`);
    });

    await step('sign-out', async () => {
      await page.click('#signout');
      await page.waitForSelector('form.auth-form');
      const cookies = await context.cookies();
      assert(!cookies.some((c) => c.name === 'apex_refresh' && c.value), 'the refresh cookie is cleared');
      await page.reload();
      await page.waitForSelector('form.auth-form');
    });

    await step('wrong-password', async () => {
      await page.fill('#email', email);
      await page.fill('#password', 'not my password at all');
      await page.click('button[type=submit]');
      await page.waitForSelector('#auth-error:has-text("Wrong email or password.")');
    });

    await step('session-revoked-elsewhere', async () => {
      await page.fill('#password', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForSelector('.conn[data-state="open"]');
      const other = await api(apex.url, email);
      const resp = await fetch(`${apex.auth}/v1/sessions/revoke-all`, {
        method: 'POST',
        headers: { authorization: `Bearer ${other.token}` },
      });
      assert(resp.status === 204, `revoke-all answered ${resp.status}`);
      await page.waitForSelector('#auth-error:has-text("Your session was ended elsewhere")', { timeout: 15_000 });
    });

    await step('throttled-sign-in', async () => {
      await page.goto(apex.url);
      await page.waitForSelector('form.auth-form');
      const stranger = `nobody-${Date.now()}@example.com`;
      for (let i = 0; i < 15; i += 1) {
        await page.fill('#email', stranger);
        await page.fill('#password', 'wrong password, again and again');
        await page.click('button[type=submit]');
        await page.waitForFunction(() => document.querySelector('#auth-error')?.textContent && !document.querySelector('button[type=submit]').disabled, null, { timeout: 30_000 });
        const text = await page.textContent('#auth-error');
        if (text.includes('Too many failed sign-in attempts')) {
          assert(/Try again in \d+ (seconds|minutes)/.test(text), `the wait is said: ${text}`);
          return;
        }
        assert(text.includes('Wrong email or password.'), `each failure is explained: ${text}`);
        await page.$eval('#auth-error', (e) => { e.textContent = ''; });
      }
      throw new Error('sign-in was never throttled');
    });

    const stats = await imageStats(browser, shots.find((f) => f.includes('report-charts')));
    assert(stats.colours > 50 && stats.variance > 100, `the report screenshot is not blank: ${JSON.stringify(stats)}`);
    console.log(`# report screenshot: ${stats.width}x${stats.height}, ${stats.colours} colours, variance ${stats.variance.toFixed(0)}`);
    passed += 1;
    console.log(`ok ${passed} - screenshots not blank`);
    const unexpected = consoleErrors.filter((e) => !/status of (401|400|404)|Failed to load resource/.test(e));
    assert(unexpected.length === 0, `errors in the page's console: ${unexpected.join('\n')}`);
    console.log(`# screenshots in ${SHOTS}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${passed} passed, 0 failed`);
  } catch (err) {
    console.log(`not ok - ${err.stack ?? err}`);
    if (page) await capture('FAILED').catch(() => {});
    if (consoleErrors.length) console.log(`# page console errors:\n${consoleErrors.join('\n')}`);
    if (apex?.log) {
      const text = fs.readFileSync(apex.log, 'utf8');
      console.log(`# last lines of apex up's log:\n${text.split('\n').slice(-40).join('\n')}`);
    }
    console.log(`${passed} passed, 1 failed`);
    process.exitCode = 1;
  } finally {
    await browser?.close().catch(() => {});
    await stopApex(apex);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

await main();
