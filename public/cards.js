// The cards around the tables: balance (coloured by the balance policy's thresholds), runway, guard health, alerts,
// active overrides, and the banner shown while the guard cannot see the account.
import { renderSpark } from './chart.js';
import { $, h } from './dom.js';
import { fmtDur, fmtNear, fmtTime, money, num } from './format.js';
import { label, reasonText, t } from './i18n.js';
import { canWrite, state } from './state.js';

/** Show (or clear) the card's "Failed: …" line for a source that did not load. */
export function cardError(cardId, key) {
  const card = $(cardId);
  let el = card.querySelector('.card-error');
  const msg = state.errors[key];
  if (!msg) {
    el?.remove();
    return;
  }
  if (!el) {
    el = h('p', { class: 'card-error' });
    card.append(el);
  }
  el.textContent = t('failed')(msg);
}

function policyOf(type) {
  return (state.data.policies?.policies ?? []).find((p) => p.type === type) ?? null;
}

/** The balance policy's thresholds, highest first (`below: 100` or `below: [100, 30]`). */
function balanceThresholds() {
  const below = policyOf('balance')?.config?.below;
  const list = (Array.isArray(below) ? below : [below]).map(Number).filter(Number.isFinite);
  return list.sort((a, b) => b - a);
}

/** `critical` at or below ¥0, `act` under the lowest threshold, `warn` under the highest, else `ok`. */
export function balanceLevel(balance, thresholds) {
  if (!Number.isFinite(balance)) return '';
  if (balance <= 0) return 'critical';
  if (thresholds.length && balance < thresholds[thresholds.length - 1]) return 'act';
  if (thresholds.length && balance < thresholds[0]) return 'warn';
  return 'ok';
}

/** Balance and burn-rate cards. */
export function renderBalance() {
  const b = state.data.balance;
  cardError('card-balance', 'balance');
  if (!b) return;
  const value = $('balance-value');
  value.textContent = money(b.balance);
  const th = balanceThresholds();
  const level = b.balance === null ? '' : balanceLevel(Number(b.balance), th);
  value.classList.remove('ok', 'warn', 'act', 'critical', 'neg');
  if (level) value.classList.add(level);
  $('card-balance').dataset.level = level;
  $('balance-at').textContent =
    level === 'critical'
      ? t('balanceGone')
      : [
          b.at ? t('asOf')(fmtNear(b.at)) : '',
          // the balance model's second figure: the estimate without the hour the platform has not debited yet
          typeof b.estimated_now === 'number' && b.estimated_now !== b.balance ? t('estimateNow')(money(b.estimated_now)) : '',
          th.length ? t('balanceThresholds')(th.map(money).join(' / ')) : '',
        ]
          .filter(Boolean)
          .join(' · ');
  $('burn-value').textContent = typeof b.burn_rate === 'number' ? `${money(b.burn_rate)}${t('perHour')}` : '—';
  $('burn-day').textContent = typeof b.burn_rate === 'number' ? t('perDay')(money(b.burn_rate * 24)) : '';
  const today = (state.data.instances?.instances ?? []).reduce((s, i) => s + (Number(i.today_estimated) || 0), 0);
  $('burn-today').textContent = state.data.instances ? t('today')(money(today)) : '';
  renderSpark(b.history ?? []);
}

/** Runway card: hours left against the runway policy's thresholds; 0 (never ∞) at or below ¥0. */
export function renderRunway() {
  const b = state.data.balance;
  const p = policyOf('runway');
  const warn = Number(p?.config?.warn_hours);
  const act = Number(p?.config?.act_hours);
  const gone = b && b.balance !== null && Number(b.balance) <= 0;
  const hours = gone ? 0 : b?.runway_hours;
  const value = $('runway-value');
  value.classList.remove('ok', 'warn', 'act', 'critical');
  if (b && (hours === null || hours === undefined || !Number.isFinite(Number(hours)))) {
    value.textContent = b.balance === null ? '—' : '∞';
    if (b.balance !== null) value.classList.add('ok');
  } else if (b) {
    const hv = Number(hours);
    value.textContent = t('hoursLeft')(hv >= 100 ? hv.toFixed(0) : hv.toFixed(1));
    value.classList.add(gone ? 'critical' : Number.isFinite(act) && hv <= act ? 'act' : Number.isFinite(warn) && hv <= warn ? 'warn' : 'ok');
  }
  const hasThresholds = Number.isFinite(warn) && Number.isFinite(act);
  $('runway-thresholds').textContent = !b ? '' : hasThresholds ? t('thresholds')(num(warn, 0), num(act, 0)) : t('noRunwayPolicy');
  const max = Math.max(hasThresholds ? warn * 2 : 24, 24);
  const hv = Number.isFinite(Number(hours)) && hours !== null && hours !== undefined ? Number(hours) : max;
  const fill = $('runway-fill');
  fill.style.width = `${Math.min(100, Math.max(0, (hv / max) * 100))}%`;
  fill.className = `fill ${['critical', 'act'].some((c) => value.classList.contains(c)) ? 'act' : value.classList.contains('warn') ? 'warn' : 'ok'}`;
  $('runway-warn').hidden = !hasThresholds;
  $('runway-act').hidden = !hasThresholds;
  if (hasThresholds) {
    $('runway-warn').style.left = `${Math.min(100, (warn / max) * 100)}%`;
    $('runway-act').style.left = `${Math.min(100, (act / max) * 100)}%`;
  }
  cardError('card-runway', 'policies');
}

/** Guard health card (from /readyz). */
export function renderHealth() {
  const r = state.data.ready;
  cardError('card-health', 'ready');
  const box = $('health-facts');
  if (!r) return;
  const tick = r.last_tick;
  const rows = [
    [
      t('lastTick'),
      tick ? h('span', {}, h('span', { class: 'countup', data: { at: tick.at } }, ''), ' · ', h('span', { class: `outcome o-${tick.outcome}` }, label('outcome', tick.outcome))) : t('never'),
    ],
    [t('blindTicks'), h('span', { class: Number(r.blind_ticks) > 0 ? 'warn-text' : '' }, r.blind_ticks ?? '—')],
    [t('outbox'), r.outbox ? h('span', { class: Number(r.outbox.dead) > 0 ? 'warn-text' : '' }, t('outboxText')(r.outbox.pending ?? 0, r.outbox.dead ?? 0)) : '—'],
    [t('role'), `${label('roleName', r.role)} · ${label('dbState', r.db)}`],
  ];
  box.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** The blind spell from /readyz, or null while the guard sees the account. */
export function blindSpell() {
  return state.data.ready?.blind ?? null;
}

/** The banner "cannot see the account since HH:MM: why", shown while the newest tick was blind. */
export function renderBlindBanner() {
  const b = blindSpell();
  const el = $('blind-banner');
  el.hidden = !b;
  if (!b) return;
  const why = label('blindReason', b.reason);
  el.textContent = t('blindBanner')(fmtNear(b.since), why, b.ticks) + (b.last_ok_at ? t('blindBannerLast')(fmtNear(b.last_ok_at)) : '');
}

/** Alerts panel: firing ones first (as the API orders them), then recently resolved ones. */
export function renderAlerts() {
  const list = state.data.alerts?.alerts ?? [];
  cardError('card-alerts', 'alerts');
  const firing = list.filter((a) => a.state === 'firing').length;
  $('alerts-count').textContent = firing ? String(firing) : '';
  $('card-alerts').dataset.firing = String(firing);
  const box = $('alerts-list');
  if (!list.length) {
    box.replaceChildren(h('li', { class: 'empty' }, t('noAlerts')));
    return;
  }
  box.replaceChildren(
    ...list.map((a) =>
      h(
        'li',
        { class: `alert sev-${a.severity} st-${a.state}`, data: { key: a.key, type: a.type, state: a.state } },
        h('span', { class: 'sev', title: label('severity', a.severity) }, label('severity', a.severity)),
        h('span', { class: 'msg' }, a.message, a.reason_code ? h('span', { class: 'muted small reason' }, ` · ${reasonText('', a.reason_code)}`) : null),
        h('span', { class: 'when muted small' }, a.state === 'firing' ? t('firingSince')(fmtNear(a.since)) : t('resolvedAt')(fmtNear(a.resolved_at))),
      ),
    ),
  );
}

/** What an override covers: an instance's name (its id when unknown) or a name glob. */
function overrideTarget(o) {
  const id = o.instance_id ?? o.target?.instance_id;
  if (id) return o.name || (state.data.instances?.instances ?? []).find((x) => x.id === id)?.name || id;
  return o.target?.name ?? o.name ?? '—';
}

/** Active overrides list, with Revoke buttons. */
export function renderOverrides() {
  const list = state.data.overrides?.overrides ?? [];
  cardError('card-overrides', 'overrides');
  const box = $('overrides-list');
  if (!list.length) {
    box.replaceChildren(h('li', { class: 'empty' }, t('noOverrides')));
    return;
  }
  box.replaceChildren(
    ...list.map((o) =>
      h(
        'li',
        { data: { overrideId: o.id } },
        h(
          'div',
          { class: 'ov-main' },
          h('span', { class: `tag k-${o.kind}` }, label('kind', o.kind)),
          h('strong', {}, overrideTarget(o)),
          o.policies?.length ? h('span', { class: 'muted small' }, o.policies.join(', ')) : null,
        ),
        h(
          'div',
          { class: 'ov-sub muted small' },
          o.state === 'invalid' ? t('invalidOverride') : o.forever || !o.until ? t('forever') : h('span', {}, t('until')(fmtTime(o.until)), ' · ', h('span', { class: 'countdown', data: { at: o.until } }, '')),
          o.reason ? ` · ${o.reason}` : '',
          o.who ? ` · ${t('by')(o.who)}` : '',
        ),
        canWrite() ? h('button', { type: 'button', class: 'btn small ghost write-only', data: { action: 'revoke', override: o.id } }, t('revoke')) : null,
      ),
    ),
  );
}

/** Days of recorded history the tune panel waits for: a shorter record says little about a user's habits. */
export const TUNE_MIN_DAYS = 7;

/**
 * What other idle windows would have done (GET /api/v1/tune): one line for the recommendation, the whole table
 * behind a link. Shown only with a week of recorded history.
 */
export function renderTune() {
  const r = state.data.tune;
  const card = $('card-tune');
  card.dataset.historyDays = r ? String(r.history_days) : ''; // what the last answer said, shown or not
  if (!r || !(r.history_days >= TUNE_MIN_DAYS) || !r.rows?.length) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  const current = r.rows.find((x) => x.current)?.idle_for ?? '—';
  const rec = r.recommendation ?? { keep: true };
  const more = rec.saved_more_yuan ?? 0;
  $('tune-summary').textContent =
    rec.keep || !rec.idle_for
      ? t('tuneKeep')(current, r.policy)
      : t('tuneWith')(rec.idle_for, money(Math.abs(more)), more >= 0, rec.interruptions ?? 0, current);
  $('tune-link').textContent = t('tuneLink');
  $('tune-body').replaceChildren(
    ...r.rows.map((x) =>
      h(
        'tr',
        { class: x.current ? 'current' : '', data: { idleFor: x.idle_for } },
        h('td', { data: { label: t('tuneWindow') } }, h('span', {}, x.idle_for, x.current ? h('span', { class: 'tag' }, t('tuneCurrent')) : null)),
        h('td', { class: 'num', data: { label: t('tuneSaved') } }, money(x.saved_yuan)),
        h('td', { class: 'num', data: { label: t('tuneVsCurrent') } }, x.current ? '—' : `${x.more_than_current_yuan < 0 ? '−' : '+'}${money(Math.abs(x.more_than_current_yuan))}`),
        h('td', { class: 'num', data: { label: t('tuneInterruptions') } }, String(x.interruptions)),
        h('td', { class: 'num', data: { label: t('tuneReturn') } }, x.median_return_s === null ? '—' : fmtDur(x.median_return_s * 1000)),
      ),
    ),
  );
  $('tune-note').textContent = t('tuneNote')(Math.floor(r.history_days));
}
