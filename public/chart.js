// The 30-day spend chart (stacked bars per instance, or per spend group when groups are configured; observed spend
// as a line) and the balance sparkline, with uPlot (a global from /assets/uplot.js). The legend names instances
// (their ids are in the tooltips) or groups.
import { $, h } from './dom.js';
import { fmtTime, money, toMs } from './format.js';
import { t } from './i18n.js';
import { state } from './state.js';

/** Bar colours, in stack order (the tests look for them on the canvas). */
export const PALETTE = ['#4f6bed', '#2fa37a', '#e8a33d', '#d4577b', '#8a63d2', '#2c9fc4', '#a0785a', '#7a8b99', '#c2b93a', '#5ab85a'];

const charts = { spend: null, spendKey: '', spark: null };

/** An instance's name by id (its id when the instance is gone from the list). */
export function instanceName(id) {
  const i = (state.data.instances?.instances ?? []).find((x) => x.id === id);
  return i?.name || id;
}

/** A round upper bound for the y axis (0.87 -> 1, 6.4 -> 8, 13 -> 15). */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((c) => c >= v - 1e-9) ?? 10 * p;
}

/**
 * Why observed and estimated spend differ by ¥1 or more: the balance fell by more than the instances cost (charges
 * outside instances), or less (the platform debits hourly in arrears). Null when they agree within ¥1.
 */
function spendGap(total) {
  const gap = Number(total.observed) - Number(total.estimated);
  if (gap >= 1) return { text: t('notFromInstances')(money(gap)), hint: t('notFromInstancesHint') };
  if (gap <= -1) return { text: t('notDebitedYet')(money(-gap)), hint: t('notDebitedYetHint') };
  return null;
}

/** Draw (or update) the spend chart from `state.data.spend`. */
export function renderSpend() {
  const s = state.data.spend;
  if (!s) return;
  const total = $('spend-total');
  const why = s.total ? spendGap(s.total) : null;
  total.textContent = s.total ? t('total')(money(s.total.estimated), money(s.total.observed)) + (why ? ` · ${why.text}` : '') : '';
  total.title = why?.hint ?? '';
  const rows = [...(s.rows ?? [])].map((r) => ({ ...r, x: toMs(r.key) })).filter((r) => r.x !== null).sort((a, b) => a.x - b.x);
  // Stack order: the instance with the most spend at the bottom.
  const totals = new Map();
  for (const r of rows) for (const [id, v] of Object.entries(r.instances ?? {})) totals.set(id, (totals.get(id) ?? 0) + (Number(v) || 0));
  const ids = [...totals.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([id]) => id);
  // With spend groups the split is keyed by group name (public/api.js asks split=group), else by instance id.
  const byGroup = (state.session?.groups ?? []).length > 0;
  const layers = ids.map((id) => ({ id, name: byGroup ? (id === 'other' ? t('other') : id) : instanceName(id), values: rows.map((r) => Number(r.instances?.[id]) || 0) }));
  const other = rows.map((r, k) => Math.max(0, (Number(r.estimated) || 0) - layers.reduce((sum, l) => sum + l.values[k], 0)));
  if (other.some((v) => v > 0.005)) layers.push({ id: '', name: layers.length ? t('other') : t('estimated'), values: other });
  layers.forEach((l, k) => (l.color = PALETTE[k % PALETTE.length]));

  // uPlot bars start at zero, so stacking = cumulative sums drawn from the tallest down.
  const cum = [];
  let acc = rows.map(() => 0);
  for (const l of layers) {
    acc = acc.map((v, k) => v + l.values[k]);
    cum.push(acc);
  }
  const xs = rows.map((r) => r.x / 1000);
  // A day with neither estimated nor observed spend has no data yet (before the guard ran): no point.
  const observed = rows.map((r) => (r.observed === null || r.observed === undefined || (!Number(r.observed) && !Number(r.estimated)) ? null : Number(r.observed)));
  renderLegend(layers);
  drawChart(layers, [xs, ...cum.slice().reverse(), observed], rows);
}

function renderLegend(layers) {
  const items = layers.map((l) => h('span', { class: 'li', title: l.id || null, data: { instanceId: l.id } }, h('i', { class: 'sw', data: { color: l.color } }), l.name));
  items.push(h('span', { class: 'li' }, h('i', { class: 'sw line' }), t('observed')));
  $('spend-legend').replaceChildren(...items);
  for (const sw of $('spend-legend').querySelectorAll('i[data-color]')) sw.style.background = sw.dataset.color;
}

function drawChart(layers, data, rows) {
  const box = $('spend-chart');
  if (!window.uPlot) return;
  const width = Math.max(200, box.clientWidth);
  const key = `${state.locale}|${state.tz}|${width}|${layers.map((l) => `${l.id}:${l.name}`).join(',')}`;
  if (charts.spend && charts.spendKey === key) {
    charts.spend.setData(data);
    return;
  }
  charts.spend?.destroy();
  box.replaceChildren();
  charts.spendKey = key;
  const bars = uPlot.paths.bars({ size: [0.7, 28], gap: 1 });
  const reversed = layers.slice().reverse();
  const dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone: state.tz, month: '2-digit', day: '2-digit' });
  const opts = {
    width,
    height: 230,
    padding: [10, 22, 0, 0],
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    select: { show: false },
    scales: {
      x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] },
      y: { range: (u, min, max) => [0, max > 0 ? niceCeil(max * 1.1) : 1] },
    },
    axes: [
      { stroke: '#5b6472', grid: { show: false }, ticks: { stroke: '#d9dee5' }, space: 48, values: (u, splits) => splits.map((v) => dayFmt.format(new Date(v * 1000)).replace(/^\d{4}-/, '')) },
      { stroke: '#5b6472', grid: { stroke: '#eef1f5' }, ticks: { show: false }, size: 56, values: (u, splits) => splits.map((v) => `¥${+v.toFixed(2)}`) },
    ],
    series: [
      {},
      ...reversed.map((l) => ({ label: l.name, fill: l.color, stroke: l.color, width: 0, paths: bars, points: { show: false } })),
      { label: t('observed'), stroke: '#1f2328', width: 1.5, dash: [4, 3], spanGaps: false, points: { show: true, size: 4, fill: '#1f2328' } },
    ],
    hooks: { setCursor: [(u) => showReadout(u, rows, layers)] },
  };
  charts.spend = new uPlot(opts, data, box);
  charts.spend.root.querySelector('canvas')?.setAttribute('aria-label', t('spend30'));
}

function showReadout(u, rows, layers) {
  const el = $('spend-readout');
  if (!el) return;
  const k = u.cursor.idx;
  if (k === null || k === undefined || !rows[k]) {
    el.textContent = '';
    return;
  }
  const r = rows[k];
  const parts = layers.filter((l) => l.values[k] >= 0.005).map((l) => `${l.name} ${money(l.values[k])}`);
  el.textContent = `${fmtTime(r.key).slice(0, 5)} · ${t('estimated')} ${money(r.estimated)} · ${t('observed')} ${money(r.observed)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** Draw (or update) the balance sparkline. */
export function renderSpark(history) {
  const box = $('balance-spark');
  const pts = history.map((p) => [toMs(p.at), Number(p.balance)]).filter(([x, y]) => x !== null && Number.isFinite(y));
  pts.sort((a, b) => a[0] - b[0]);
  if (pts.length < 2 || !window.uPlot) {
    charts.spark?.destroy();
    charts.spark = null;
    box.replaceChildren();
    return;
  }
  const data = [pts.map((p) => p[0] / 1000), pts.map((p) => p[1])];
  const width = Math.max(60, box.clientWidth);
  if (charts.spark && charts.spark.width === width) {
    charts.spark.setData(data);
    return;
  }
  charts.spark?.destroy();
  charts.spark = new uPlot(
    {
      width,
      height: 34,
      pxAlign: false,
      cursor: { show: false },
      select: { show: false },
      legend: { show: false },
      scales: { x: { time: false } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: '#4f6bed', width: 1.5, fill: 'rgba(79,107,237,0.10)', points: { show: false } }],
    },
    data,
    box,
  );
}
