// The instances and actions tables. Each cell carries its column's name (data-label), so at phone widths the rows
// become stacked cards (app.css) with the action buttons in view.
import { blindSpell, cardError } from './cards.js';
import { $, h } from './dom.js';
import { fmtNear, fmtTime, money, rateMoney, toMs } from './format.js';
import { label, reasonText, t } from './i18n.js';
import { canWrite, state } from './state.js';

/** Wake states after which no wake is going on. */
const WAKE_OVER = new Set(['done', 'gave_up', 'refused']);

/** A table cell labelled with its column (shown before the value on phones). */
function td(col, props, ...children) {
  return h('td', { ...props, data: { label: t(col), ...(props?.data ?? {}) } }, ...children);
}

/** ¥/h an instance that is shut down but still holds its GPU pays, or null (the API's field, else derived). */
export function stoppedGpuRate(i) {
  if (i.stopped_gpu_rate !== undefined) return i.stopped_gpu_rate;
  // Until the API carries it: shut down, GPUs attached, billed well above a retained disk's rate.
  return i.status === 'shutdown' && Number(i.gpu_count) > 0 && Number(i.billed_rate) > 0.05 ? Number(i.billed_rate) : null;
}

/** The wake going on for an instance, or null. */
function activeWake(i) {
  return i.wake && !WAKE_OVER.has(i.wake.state) ? i.wake : null;
}

function isProtected(i) {
  return Boolean(state.keepMarker) && String(i.name ?? '').includes(state.keepMarker);
}

/** The instances table. */
export function renderInstances() {
  const list = state.data.instances?.instances ?? [];
  cardError('card-instances', 'instances');
  $('instances-count').textContent = state.data.instances ? t('count')(list.length) : '';
  const body = $('instances-body');
  if (!list.length) {
    body.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 8, class: 'empty' }, t('noInstances'))));
    return;
  }
  const blind = blindSpell();
  body.replaceChildren(...list.map((i) => instanceRow(i, blind)));
}

function instanceRow(i, blind) {
  const tags = (i.overrides ?? []).map((o) => h('span', { class: `tag k-${o.kind}` }, label('kind', o.kind)));
  if (isProtected(i)) tags.push(h('span', { class: 'tag k-keep', title: t('protectedHint')(state.keepMarker) }, t('protectedTag')));
  const gpus = Number(i.gpu_count) || 0;
  const held = stoppedGpuRate(i);
  const wake = activeWake(i);
  return h(
    'tr',
    { data: { instanceId: i.id, status: i.status } },
    td('colName', { class: 'name-cell' }, h('div', { class: 'iname' }, i.name || i.id, ...tags), h('div', { class: 'muted small mono' }, i.id)),
    td(
      'colStatus',
      {},
      h('span', { class: `pill s-${i.status}` }, label('status', i.status)),
      held !== null ? h('div', { class: 'small warn-text held-gpu' }, t('stoppedBilled')(rateMoney(held))) : null,
      wake ? h('div', { class: 'small waking' }, t('wakingText')(wake.tries ?? 1, wake.waiting_for)) : null,
      i.platform_auto_shutdown?.enabled
        ? h('div', { class: 'small muted platform-auto-shutdown', title: t('platformAutoShutdownHint')(i.platform_auto_shutdown.action ?? '—') }, t('platformAutoShutdown'))
        : null,
    ),
    td('colGpu', {}, gpus > 0 ? `${i.gpu_model ?? ''} ×${gpus}` : h('span', { class: 'muted' }, `${i.gpu_model ?? ''} · ${t('released')}`)),
    td('colRate', { class: 'num', title: `${money(i.price_per_hour)}${t('perHour')}` }, rateMoney(i.billed_rate ?? i.price_per_hour)),
    td('colIdle', { class: 'idle-cell' }, ...idleCell(i)),
    td('colToday', { class: 'num' }, money(i.today_estimated)),
    td('colNext', { class: 'next-cell' }, nextCell(i, blind)),
    canWrite() ? td('colControl', { class: 'controls write-only' }, ...instanceButtons(i, wake)) : null,
  );
}

/** The idle verdict, only for an instance that runs (a stopped one is neither idle nor busy), with its reasons. */
function idleCell(i) {
  if (i.status !== 'running') return [h('span', { class: 'muted' }, '—')];
  const idle = i.idle ?? {};
  const v = idle.verdict ?? 'unknown';
  const reasons = Object.values(idle.probes ?? {})
    .map((p) => reasonText(p.detail, p.code))
    .filter(Boolean);
  return [
    h(
      'span',
      { class: 'idle-verdict' },
      h('span', { class: `verdict v-${v}` }, label('verdict', v)),
      toMs(idle.since) !== null ? h('span', { class: 'muted small countup-since', data: { at: idle.since } }, '') : null,
    ),
    reasons.length ? h('div', { class: 'muted small reason' }, reasons.join(state.locale === 'zh-CN' ? '；' : '; ')) : null,
  ];
}

/** What happens next: the action and when; what holds it and what follows; "last seen" while blind. */
function nextCell(i, blind) {
  const next = i.next_action;
  if (blind) return h('span', { class: 'muted last-seen' }, t('lastSeen')(blind.last_ok_at ? fmtNear(blind.last_ok_at) : '—'));
  if (!next) return h('span', { class: 'muted' }, '—');
  const reason = reasonText(next.reason, next.reason_code);
  const what = label('action', next.action);
  if (next.held_by) {
    const hb = next.held_by;
    return h(
      'div',
      { class: 'next held', data: { held: hb.kind } },
      h('span', { class: 'held-text' }, t('heldThen')(label('held', hb.kind), fmtNear(hb.until), what, next.policy, next.at ? fmtNear(next.at) : '')),
      reason ? h('div', { class: 'muted small reason' }, reason) : null,
    );
  }
  return h(
    'div',
    { class: 'next' },
    h('span', { class: `act a-${next.action}` }, what),
    h('span', { class: 'muted small' }, ` · ${next.policy}`),
    h('div', { class: 'small' }, next.at ? [h('span', { class: 'countdown', data: { at: next.at } }, ''), h('span', { class: 'muted' }, ` · ${t('actionAt')(fmtNear(next.at))}`)] : '—'),
    reason ? h('div', { class: 'muted small reason' }, reason) : null,
  );
}

/** Only the buttons that apply: Snooze/Exempt where a policy could act, Wake on a shut-down row. */
function instanceButtons(i, wake) {
  const btn = (action, text, cls = '', extra = {}) => h('button', { type: 'button', class: `btn small ${cls}`.trim(), data: { action, instance: i.id }, ...extra }, text);
  if (i.status === 'shutdown') {
    const out = [wake ? btn('wake', t('waking'), '', { disabled: true }) : btn('wake', t('wake'))];
    // A stopped instance that still holds its GPU has a release coming: it may be snoozed like a running one.
    if (i.next_action && !isProtected(i) && !(i.overrides ?? []).some((o) => o.kind === 'exempt')) out.push(btn('snooze-1h', t('snooze1h')));
    return out;
  }
  if (['destroyed', 'destroying'].includes(i.status) || isProtected(i)) return [];
  if ((i.overrides ?? []).some((o) => o.kind === 'exempt')) return [];
  const armedKey = `exempt:${i.id}`;
  const armed = state.armed && state.armed.key === armedKey && state.armed.until > performance.now();
  return [btn('snooze-1h', t('snooze1h')), btn('snooze-2h', t('snooze2h')), btn('exempt', armed ? t('exemptConfirm') : t('exempt'), armed ? 'danger' : 'ghost')];
}

/** The recent actions table. */
export function renderActions() {
  const list = state.data.actions?.actions ?? [];
  cardError('card-actions', 'actions');
  const total = state.data.spend?.total;
  $('actions-saved').textContent = total && Number.isFinite(Number(total.saved)) ? t('savedTotal')(money(total.saved)) : '';
  const body = $('actions-body');
  if (!list.length) {
    body.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 7, class: 'empty' }, t('noActions'))));
    return;
  }
  body.replaceChildren(
    ...list.map((a) =>
      h(
        'tr',
        { data: { actionId: a.id } },
        td('colTime', { class: 'nowrap' }, fmtTime(a.at)),
        td('colInstance', { class: 'name-cell' }, a.instance_name || a.instance_id || '—'),
        td('colPolicy', {}, a.policy ?? '—'),
        td('colAction', { class: 'nowrap' }, h('span', { class: `act a-${a.action}` }, label('action', a.action)), a.mode === 'dry_run' ? h('span', { class: 'tag dry' }, t('dryRun')) : null),
        td('colState', {}, h('span', { class: `state st-${a.state}` }, label('state', a.state))),
        td('colReason', { class: 'reason' }, reasonText(a.reason, a.reason_code)),
        td('colSaved', { class: 'num' }, Number(a.saved) > 0 ? money(a.saved) : h('span', { class: 'muted' }, '—')),
      ),
    ),
  );
}
