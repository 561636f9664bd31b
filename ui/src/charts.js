// The report's two charts, drawn by Chart.js (vendored, see THIRD_PARTY.md):
// spend by model over time (stacked bars per day) and estimated monthly
// savings by recommendation (horizontal bars). Colours follow the page's
// light or dark theme.

import './vendor/chart.umd.min.js';

const { Chart } = globalThis;

const PALETTE = ['#2f6fdf', '#e0782f', '#2a9d6f', '#c2417b', '#8a63d2', '#b59a1f', '#3aa0b8', '#7a7a7a'];

function themed() {
  const css = getComputedStyle(document.documentElement);
  return {
    text: css.getPropertyValue('--fg').trim() || '#222',
    grid: css.getPropertyValue('--line').trim() || '#ddd',
  };
}

const money = (v) => `$${Number(v).toLocaleString('en-US', { maximumFractionDigits: v < 10 ? 2 : 0 })}`;

function common(theme) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    color: theme.text,
    plugins: {
      legend: { labels: { color: theme.text } },
      tooltip: { callbacks: { label: (c) => `${c.dataset.label ?? c.label}: ${money(c.parsed.y ?? c.parsed.x)}` } },
    },
  };
}

/** Stacked bars: one bar per day, one colour per model (top 7, the rest as "others"). */
export function spendByModel(canvas, byDay) {
  const theme = themed();
  const totals = new Map();
  for (const day of byDay) for (const m of day.by_model) totals.set(m.model, (totals.get(m.model) ?? 0) + m.cost_usd);
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([m]) => m);
  const shown = ranked.slice(0, 7);
  const others = ranked.length > shown.length;
  const series = [...shown, ...(others ? ['(others)'] : [])];
  const datasets = series.map((model, i) => ({
    label: model,
    backgroundColor: PALETTE[i % PALETTE.length],
    data: byDay.map((day) =>
      day.by_model
        .filter((m) => (model === '(others)' ? !shown.includes(m.model) : m.model === model))
        .reduce((sum, m) => sum + m.cost_usd, 0),
    ),
  }));
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: byDay.map((d) => d.date), datasets },
    options: {
      ...common(theme),
      scales: {
        x: { stacked: true, ticks: { color: theme.text }, grid: { color: theme.grid } },
        y: { stacked: true, ticks: { color: theme.text, callback: money }, grid: { color: theme.grid }, title: { display: true, text: 'USD per day', color: theme.text } },
      },
    },
  });
}

/** Horizontal bars: estimated monthly saving of each recommendation. */
export function savingsByRecommendation(canvas, recommendations) {
  const theme = themed();
  const recs = recommendations.filter((r) => r.monthly_savings_usd > 0);
  const short = (t) => (t.length > 44 ? `${t.slice(0, 43)}…` : t);
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels: recs.map((r) => short(r.title)),
      datasets: [{ label: 'Estimated saving per month', backgroundColor: PALETTE[2], data: recs.map((r) => r.monthly_savings_usd) }],
    },
    options: {
      ...common(theme),
      indexAxis: 'y',
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { title: (items) => recs[items[0].dataIndex].title, label: (c) => `${money(c.parsed.x)} per month` } },
      },
      scales: {
        x: { ticks: { color: theme.text, callback: money }, grid: { color: theme.grid }, title: { display: true, text: 'USD per month', color: theme.text } },
        y: { ticks: { color: theme.text, autoSkip: false }, grid: { display: false } },
      },
    },
  });
}
