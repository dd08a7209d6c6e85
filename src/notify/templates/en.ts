/** English message texts: labels, units, action words and one entry per event type. */
import type { Fmt, LocaleText } from './types.js';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

const runwayBack = {
  title: (d: { hours_left?: number | null }, f: Fmt) => (typeof d.hours_left === 'number' ? `Runway back to ${f.hours(d.hours_left)}` : 'Runway restored'),
  summary: () => 'At the current burn rate the balance lasts long enough again.',
};

const recovered = {
  title: () => 'Guard recovered: the cloud API answers again',
  summary: () => 'Observation works again and policies are back in effect.',
};

/** The English table. */
export const en: LocaleText = {
  lang: 'en',
  labels: {
    instance: 'Instance',
    gpu: 'GPU',
    price: 'Price',
    policy: 'Policy',
    reason: 'Reason',
    planned_at: 'Planned at',
    saving: 'Estimated saving',
    would_save: 'Would save',
    at: 'At',
    error: 'Error',
    balance: 'Balance',
    threshold: 'Threshold',
    runway: 'Runway',
    burn: 'Burn rate',
    empty_at: 'Runs out at',
    spent: 'Spent',
    limit: 'Limit',
    since: 'Since',
    blind_since: 'Blind since',
    estimated_spend: 'Estimated spend',
    observed_spend: 'Observed spend',
    saved: 'Saved',
    recharged: 'Recharged',
    actions: 'Actions',
    top_up: 'Top up',
    observed_at: 'Balance observed at',
    estimate_now: '≈ Now (estimate)',
    last_resort_at: 'Last-resort release at',
    waited: 'Waited',
    tries: 'Tries',
    web_url: 'Web',
    gpu_models: 'GPU models tried',
    status: 'Status',
    last_status: 'Last state',
    last_seen: 'Last seen',
    estimated: 'Estimated',
  },
  units: { hour: ' h', perHour: '/h', noGpu: 'none (data only)' },
  actions: {
    release_gpu: { verb: 'release the GPU of', past: 'Released the GPU of', future: 'GPU will be released' },
    shutdown: { verb: 'shut down', past: 'Shut down', future: 'will be shut down' },
    destroy: { verb: 'destroy', past: 'Destroyed', future: 'will be destroyed' },
    notify: { verb: 'notify about', past: 'Notified about', future: 'will be reported' },
    boot: { verb: 'boot', past: 'Booted', future: 'will be booted' },
  },
  unknownAction: (a) => ({ verb: a, past: `Did ${a} on`, future: `${a} planned` }),
  words: {
    footer: 'xgc-guard, cost guard for XianGong Cloud',
    more: (n) => ` (+${n} more)`,
    reminder: ' (reminder)',
    resolvedPrefix: 'Resolved: ',
    snooze: { h1: 'Snooze 1 hour', h2: 'Snooze 2 hours', skip: 'Skip this time' },
    opaqueTitle: (type) => `Notification: ${type}`,
    opaqueSummary: 'This notification was stored in a shape this version cannot read; see the dashboard for the current state.',
    deadDeliveries: (n, channel) => `${n} notification${n === 1 ? '' : 's'} to ${channel} could not be delivered (given up after retries)`,
  },
  events: {
    action_planned: {
      title: (d, f) => `${f.name(d.instance)}: ${f.action(d.action).future} at ${f.time(d.planned_at)} (policy ${d.policy})`,
      summary: (d, f, c) =>
        `Policy "${d.policy}" will ${f.action(d.action).verb} instance ${f.name(d.instance)} at ${f.time(d.planned_at)}.` +
        (c.hasLinks ? ' If you still need it, snooze with a link below.' : ''),
      note: (d, _f, c) =>
        c.hasLinks
          ? undefined
          : `If you still need it, press Snooze on its row in the dashboard, or run: xgc-guard override add --instance ${d.instance.id} --kind snooze --for 2h --reason "still in use". ` +
            'Set http.public_url to get one-click snooze links in these messages.',
    },
    action_taken: {
      title: (d, f) => (d.mode === 'dry_run' ? `[dry run] Would ${f.action(d.action).verb} ${f.name(d.instance)}` : `${f.action(d.action).past} ${f.name(d.instance)}`),
      summary: (d, f) =>
        `Policy "${d.policy}" ${d.mode === 'dry_run' ? 'would have acted (dry run, nothing was done) on' : 'acted on'} instance ${f.name(d.instance)}: ${d.action}.`,
    },
    action_failed: {
      title: (d, f) => `Failed: ${f.action(d.action).verb} ${f.name(d.instance)}`,
      summary: (d, f) => `Policy "${d.policy}" could not ${f.action(d.action).verb} instance ${f.name(d.instance)}; it may still be billing.`,
    },
    action_aborted: {
      title: (d, f) => `Aborted: ${f.action(d.action).verb} ${f.name(d.instance)}`,
      summary: (d, f) => `Policy "${d.policy}" did not ${f.action(d.action).verb} instance ${f.name(d.instance)}: a safety rail stopped it or its state changed.`,
    },
    balance_low: {
      title: (d, f) => `Low balance: ${f.money(d.balance)} is below ${f.money(d.threshold)}`,
      summary: (d, f) =>
        `The account balance ${f.money(d.balance)} is below ${f.money(d.threshold)}.` +
        (typeof d.burn_per_hour === 'number' && d.burn_per_hour > 0
          ? ` At ${f.rate(d.burn_per_hour)} it lasts about ${f.hours(d.hours_left)}; top up ${f.money(d.top_up)} to cover ${f.hours(d.top_up_hours)}.`
          : '') +
        ' A negative balance makes the platform destroy instances: please recharge.',
      resolved: {
        title: (d, f) => `Balance recovered: ${f.money(d.balance)}`,
        summary: (d, f) => `The account balance is back above ${f.money(d.threshold)}.`,
      },
    },
    runway_warn: {
      title: (d, f) => `Balance runs out in about ${f.hours(d.hours_left)}`,
      summary: (d, f) =>
        `At ${f.rate(d.burn_per_hour)} the balance of ${f.money(d.estimate ?? d.balance)} (≈ now) lasts about ${f.hours(d.hours_left)}. Recharge or stop instances you do not need.`,
      resolved: runwayBack,
    },
    runway_act: {
      title: (d, f) => `Balance runs out in about ${f.hours(d.hours_left)}: releasing GPUs`,
      summary: (d, f) =>
        `At ${f.rate(d.burn_per_hour)} the balance of ${f.money(d.estimate ?? d.balance)} (≈ now) lasts about ${f.hours(d.hours_left)}. The guard releases GPUs in order so a negative balance does not destroy instances.`,
      resolved: runwayBack,
    },
    runway_critical: {
      title: (d, f) =>
        `Critical: the balance reaches ¥0 at ${f.time(d.empty_at)}; ${plural(d.instances.length, 'instance', 'instances')} would be destroyed`,
      summary: (d, f) =>
        `At ${f.rate(d.burn_per_hour)} the balance of ${f.money(d.estimate ?? d.balance)} (≈ now) lasts about ${f.hours(d.hours_left)}. At a negative balance the platform destroys containers, disks included; #keep and overrides protect from the guard, not from that. ` +
        `Top up at least ${f.money(d.top_up)}${d.top_up_hours ? ` (${f.hours(d.top_up_hours)} at this burn)` : ''}.` +
        (typeof d.last_resort_at === 'number'
          ? ` Otherwise the guard releases their GPUs at ${f.time(d.last_resort_at)} (a release keeps the disk).`
          : ' The last-resort release is off: nothing will stop the destruction but a top-up.'),
      resolved: {
        title: (d, f) => `Balance no longer critical: ${f.money(d.balance)}`,
        summary: () => 'The protected instances are no longer about to be destroyed.',
      },
    },
    instances_destroyed: {
      title: (d, f) => `Critical: ${plural(d.instances.length, 'instance', 'instances')} destroyed at a balance of ${f.money(d.balance)}`,
      summary: () =>
        'These instances vanished or turned destroyed while the balance was at or below ¥0: the platform destroys containers at a negative balance, and their disks are gone. Top up before creating new ones.',
    },
    budget_exceeded: {
      title: (d, f) => `${d.period === 'month' ? 'Monthly' : 'Daily'} budget exceeded: ${f.money(d.spent)} of ${f.money(d.limit)}`,
      summary: (d, f) => `Estimated spend ${f.money(d.spent)} is over the ${d.period === 'month' ? 'monthly' : 'daily'} limit of ${f.money(d.limit)}.`,
    },
    guard_blind: {
      title: (d) => `Guard is blind: the cloud API failed ${d.ticks} times in a row`,
      summary: () => 'Until it recovers the guard decides nothing from missing data and cannot protect your balance. Check the API token and the network.',
    },
    guard_recovered: { ...recovered, resolved: recovered },
    wake_done: {
      title: (d, f) =>
        d.gpu_count === 0
          ? `${f.name(d.instance)} is running without a GPU (data only)`
          : `${f.name(d.instance)} is running on ${f.gpu(d.gpu_model, d.gpu_count)}`,
      summary: (d, f) =>
        `The guard booted ${f.name(d.instance)} after ${plural(d.tries, 'try', 'tries')} over ${f.duration(d.waited_ms)}.` +
        (d.gpu_count === 0 ? ' It has no GPU: your files are reachable and no GPU is billed.' : ''),
    },
    wake_failed: {
      title: (d, f) => `Could not wake ${f.name(d.instance)}: gave up after ${f.duration(d.waited_ms)}`,
      summary: (d, f) =>
        `No ${d.gpu_models.length ? d.gpu_models.join(' / ') : 'GPU'}${d.gpu_count > 1 ? ` × ${d.gpu_count}` : ''} came free for ${f.name(d.instance)} in ${f.duration(d.waited_ms)} (${plural(d.tries, 'try', 'tries')}); it stays shut down.`,
    },
    daily_digest: {
      title: (d, f) => `Daily report ${d.day}: ${f.money(d.estimated)} estimated, ${f.money(d.observed)} observed`,
      summary: (d) => `Spend and savings for ${d.day}.`,
    },
  },
};
