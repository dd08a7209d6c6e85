// xgc-guard dashboard, the entry module: session and locale, the refresh loop, the one-second clock, and writes
// (snooze, exempt, revoke, wake). Plain ES modules, no build step; uPlot is a global from /assets/uplot.js.
// All data is put into the page as text nodes (never innerHTML). Every time shown runs on the server's clock
// (/readyz `now`), so countdowns agree with the demo's accelerated world.
import { AuthError, ApiError, SPEND_RANGE, TOKEN_KEY, api, download, sources } from './api.js';
import { renderAlerts, renderBalance, renderBlindBanner, renderHealth, renderOverrides, renderRunway, renderTune } from './cards.js';
import { renderSpend } from './chart.js';
import { $, toast } from './dom.js';
import { fmtDur, fmtNear, fmtTime, noteServerTime, toMs, worldNow } from './format.js';
import { LOCALE_KEY, knownLocale, t } from './i18n.js';
import { renderActions, renderInstances } from './tables.js';
import { canWrite, state } from './state.js';

const REFRESH_MS = 5000;
/** The tune panel replays a month of history: read it on load and then every few minutes, not every refresh. */
const TUNE_EVERY_MS = 5 * 60_000;

/** Read GET /api/v1/tune when the last answer is older than TUNE_EVERY_MS; a failure only hides the panel. */
async function refreshTune() {
  if (state.tuneAt && Date.now() - state.tuneAt < TUNE_EVERY_MS) return;
  state.tuneAt = Date.now();
  try {
    state.data.tune = await api('/api/v1/tune');
  } catch {
    state.data.tune = null;
  }
  renderTune();
}

async function refresh() {
  if (state.inflight || state.needToken) return;
  state.inflight = true;
  try {
    if (!state.session) {
      try {
        state.session = await api('/api/v1/session');
      } catch (err) {
        // An older daemon without /api/v1/session: assume an open API and keep the page's language.
        if (!(err instanceof ApiError)) throw err;
        state.session = { role: 'open', fallback: true };
      }
      applySession();
    }
    const src = sources(state.locale, state.session.groups ?? []);
    const names = Object.keys(src);
    const [ready, ...rest] = await Promise.allSettled([api('/readyz', { accept: [503] }), ...names.map((n) => api(src[n]))]);
    const all = [ready, ...rest];
    if (all.some((r) => r.status === 'rejected' && r.reason instanceof AuthError)) throw new AuthError('unauthorized');
    if (ready.status === 'fulfilled' && ready.value) noteServerTime(ready.value.now);
    state.data.ready = ready.status === 'fulfilled' ? ready.value : state.data.ready;
    state.errors.ready = ready.status === 'rejected' ? ready.reason.message : null;
    names.forEach((n, i) => {
      const r = rest[i];
      if (r.status === 'fulfilled') state.data[n] = r.value;
      state.errors[n] = r.status === 'rejected' ? r.reason.message : null;
    });
    if (all.every((r) => r.status === 'rejected')) throw new Error(t('offline'));
    state.lastOkAt = worldNow();
    $('status-line').classList.remove('bad');
    showPanels();
    renderAll();
    refreshTune();
  } catch (err) {
    if (err instanceof AuthError) {
      showTokenForm(sessionStorage.getItem(TOKEN_KEY) ? t('tokenRejected') : null);
    } else {
      $('status-line').textContent = t('offline');
      $('status-line').classList.add('bad');
    }
  } finally {
    state.inflight = false;
  }
}

/**
 * The page's locale: the reader's own choice (the EN/中文 switch), else the browser's languages in order (what it
 * sends as Accept-Language: any zh-* is zh-CN, any en-* is en), else the guard's configured one (the page's `lang`).
 */
function pickLocale(serverLocale) {
  const chosen = localStorage.getItem(LOCALE_KEY);
  if (knownLocale(chosen)) return chosen;
  for (const lang of navigator.languages ?? []) {
    const base = lang.toLowerCase().split('-')[0];
    if (base === 'zh') return 'zh-CN';
    if (base === 'en') return 'en';
  }
  return knownLocale(serverLocale) ? serverLocale : 'en';
}

function applySession() {
  const s = state.session ?? {};
  state.tz = s.timezone || state.tz;
  state.role = s.role || 'open';
  state.keepMarker = s.keep_marker ?? state.keepMarker;
  state.locale = pickLocale(s.locale ?? state.serverLocale);
  document.body.classList.toggle('read-only', state.role === 'read');
  applyLocale();
}

function applyLocale() {
  document.documentElement.lang = state.locale;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('locale-toggle').textContent = t('otherLocale');
  $('token-forget').textContent = t('signOut');
  $('token-forget').hidden = !sessionStorage.getItem(TOKEN_KEY);
  const demo = $('demo-badge');
  demo.hidden = !state.session?.demo;
  demo.textContent = t('demo');
  const dry = $('dry-badge');
  dry.hidden = !state.session?.dry_run;
  dry.textContent = t('dryRunMode');
  dry.title = t('dryRunMode');
  const role = $('role-badge');
  role.hidden = state.role !== 'read';
  role.textContent = t('readOnly');
  $('token-input').placeholder = 'GUARD_API_TOKEN';
}

function showPanels() {
  $('token-panel').hidden = true;
  $('panels').hidden = false;
}

function showTokenForm(error) {
  state.needToken = true;
  state.session = null;
  $('panels').hidden = true;
  $('blind-banner').hidden = true;
  $('token-panel').hidden = false;
  $('token-forget').hidden = true;
  const e = $('token-error');
  e.hidden = !error;
  e.textContent = error ?? '';
  $('token-input').focus();
}

function renderAll() {
  renderBlindBanner();
  renderAlerts();
  renderBalance();
  renderRunway();
  renderHealth();
  renderInstances();
  renderSpend();
  renderOverrides();
  renderActions();
  renderTune();
  tick();
}

/** Once a second: clocks, countdowns and "ago" texts, all from the server's `now`. */
function tick() {
  const now = worldNow();
  if (state.server) $('server-time').textContent = `${fmtTime(now)} ${state.tz}`;
  for (const el of document.querySelectorAll('.countdown')) {
    const at = toMs(el.dataset.at);
    if (at === null) continue;
    const left = at - now;
    el.textContent = left <= 0 ? t('due') : t('in')(fmtDur(left));
    el.classList.toggle('soon', left < 15 * 60 * 1000);
  }
  for (const el of document.querySelectorAll('.countup')) {
    const at = toMs(el.dataset.at);
    if (at !== null) el.textContent = t('ago')(fmtDur(now - at));
  }
  for (const el of document.querySelectorAll('.countup-since')) {
    const at = toMs(el.dataset.at);
    if (at !== null) el.textContent = ` ${t('since')(fmtDur(now - at))}`;
  }
  if (state.lastOkAt !== null && !$('status-line').classList.contains('bad')) $('status-line').textContent = t('updatedAt')(fmtNear(state.lastOkAt));
  if (state.armed && state.armed.until <= performance.now()) {
    state.armed = null;
    renderInstances();
  }
}

async function onClick(ev) {
  const btn = ev.target.closest('button[data-action]');
  if (!btn || btn.disabled || !canWrite()) return;
  const { action, instance, override } = btn.dataset;
  let req;
  if (action === 'snooze-1h' || action === 'snooze-2h') {
    req = { method: 'POST', path: '/api/v1/overrides', body: { target: { instance_id: instance }, kind: 'snooze', for: action === 'snooze-1h' ? '1h' : '2h', reason: 'dashboard' }, done: t('created') };
  } else if (action === 'exempt') {
    const key = `exempt:${instance}`;
    if (!state.armed || state.armed.key !== key) {
      state.armed = { key, until: performance.now() + 4000 };
      renderInstances();
      return;
    }
    state.armed = null;
    req = { method: 'POST', path: '/api/v1/overrides', body: { target: { instance_id: instance }, kind: 'exempt', forever: true, reason: 'dashboard' }, done: t('created') };
  } else if (action === 'revoke') {
    req = { method: 'DELETE', path: `/api/v1/overrides/${encodeURIComponent(override)}`, done: t('revoked') };
  } else if (action === 'wake') {
    req = { method: 'POST', path: `/api/v1/instances/${encodeURIComponent(instance)}/wake`, body: {}, done: t('wakeStarted') };
  } else return;
  btn.disabled = true;
  try {
    await api(req.path, { method: req.method, body: req.body });
    toast(req.done);
  } catch (err) {
    if (err instanceof AuthError) showTokenForm(t('tokenRejected'));
    else toast(t('failed')(err.message), true);
  } finally {
    btn.disabled = false;
  }
  await refresh();
}

function boot() {
  // The page is served with the guard's configured locale as its `lang`: the token prompt speaks it before login.
  state.serverLocale = document.documentElement.lang;
  state.locale = pickLocale(state.serverLocale);
  applyLocale();

  $('locale-toggle').addEventListener('click', () => {
    state.locale = state.locale === 'en' ? 'zh-CN' : 'en';
    localStorage.setItem(LOCALE_KEY, state.locale);
    applyLocale();
    if (!$('panels').hidden) {
      renderAll();
      refresh(); // the alerts' messages come rendered in the page's locale
    }
  });
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('token-input').value.trim();
    if (!v) return;
    sessionStorage.setItem(TOKEN_KEY, v);
    $('token-input').value = '';
    state.needToken = false;
    state.session = null;
    refresh();
  });
  // The spend card's CSV: the chart's range, fetched with the page's token and saved as a file.
  $('spend-csv').addEventListener('click', async () => {
    const btn = $('spend-csv');
    btn.disabled = true;
    try {
      await download(`/api/v1/spend?${SPEND_RANGE}&format=csv`, 'spend.csv');
    } catch (err) {
      if (err instanceof AuthError) showTokenForm(t('tokenRejected'));
      else toast(t('failed')(err.message), true);
    } finally {
      btn.disabled = false;
    }
  });
  $('token-forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenForm(null);
  });
  $('tune-link').addEventListener('click', () => {
    $('tune-details').open = true;
  });
  document.addEventListener('click', onClick);
  window.addEventListener('resize', () => {
    if (!$('panels').hidden) {
      renderSpend();
      renderBalance();
    }
  });

  refresh();
  // A second early sample of the server clock measures the demo's speed before the first countdown runs long.
  setTimeout(refresh, 1500);
  setInterval(refresh, REFRESH_MS);
  setInterval(tick, 1000);
}

boot();
