/**
 * The guard core wired together: client, executor, ticker, and the service the HTTP layer uses
 * ("when will this stop", idle state, loaded policies, act now).
 */
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Config } from './config/schema.js';
import type { Db } from './db/open.js';
import { Executor, type BusyCheck } from './actions/executor.js';
import { assess, instanceStates } from './jobs/assess.js';
import { Ticker, type TickResult } from './jobs/tick.js';
import { policyRegistry } from './policies/registry.js';
import { hasKeepMarker } from './policies/selector.js';
import { ProbeMonitor } from './probes/monitor.js';
import { monitorOptionsFromConfig } from './probes/options.js';
import { GuardError, NotFound } from './errors.js';
import { Waker } from './wake/waker.js';

/** This daemon is standby: another one holds the writer lease. */
export class Standby extends GuardError {
  constructor() {
    super('this daemon is standby (another one holds the writer lease); act through the active one', 'standby', 503);
  }
}
import type { ActNowRequest, GuardService, PolicyInfo } from './service.js';
import { XgcClient, type XgcCallInfo } from './xgc/index.js';

/** Act-now on an instance whose name carries the keep marker. */
export class KeepMarkerRefusal extends GuardError {
  constructor(name: string, marker: string) {
    super(`instance ${name} carries ${marker}: the guard never acts on it; remove ${marker} from its name first`, 'keep_marker', 409);
  }
}

/** The core objects of a running guard. */
export interface GuardCore {
  client: XgcClient;
  executor: Executor;
  ticker: Ticker;
  /** keeps probe state fresh beside the tick (start/stop it with the jobs) */
  probes: ProbeMonitor;
  /** boots released instances through GPU shortages (the tick drives it) */
  waker: Waker;
  service: GuardService;
}

/** Build the core from config. `channels` returns the configured notification channel names. */
export function createGuardCore(deps: {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
  channels(): string[];
  client?: XgcClient;
  isLeader?(): boolean;
  /** each cloud API request (metrics) */
  onCall?: (c: XgcCallInfo) => void;
  /** each finished tick (metrics) */
  onTick?: (r: TickResult) => void;
}): GuardCore {
  const { db, config, clock, log } = deps;
  const client =
    deps.client ??
    new XgcClient({ baseUrl: config.xgc.base_url, token: config.xgc.token ?? '', timeoutMs: config.xgc.timeout, retries: config.xgc.retries, onCall: deps.onCall });
  const probes = new ProbeMonitor({ db, clock, log: log.child({ mod: 'probes' }), options: monitorOptionsFromConfig(config.probes) });
  const busyCheck: BusyCheck = (access, only) => probes.recheck(access, only);
  const executor = new Executor({ db, client, clock, log: log.child({ mod: 'executor' }), config, channels: deps.channels, busyCheck });
  // the waker reads the ticker's last observation only when asked, after both exist
  const waker: Waker = new Waker({ db, client, clock, log: log.child({ mod: 'wake' }), config, channels: deps.channels, limits: executor, observation: () => ticker.lastObservation });
  const ticker: Ticker = new Ticker({ db, client, clock, log: log.child({ mod: 'tick' }), config, executor, waker, probes, channels: deps.channels, isLeader: deps.isLeader, onTick: deps.onTick });

  const service: GuardService = {
    instanceViews(now) {
      const obs = ticker.lastObservation;
      if (!obs) return { next: new Map(), idle: new Map() };
      const a = assess(db, config, { ...obs, now });
      return { next: a.next(), idle: a.idle() };
    },
    policies(now) {
      return config.policies.map((p): PolicyInfo => {
        const type = policyRegistry.get(p.type);
        const last = ticker.lastOutcomes.find((o) => o.policy === p.name);
        return {
          name: p.name,
          type: p.type,
          action: p.action,
          mode: (p.dry_run ?? config.dry_run) ? 'dry_run' : 'enforce',
          next_fire_at: type.nextFireAt?.(p, now, config.timezone) ?? null,
          config: { ...p },
          last_result:
            last && ticker.lastTickAt !== null
              ? { at: ticker.lastTickAt, decisions: last.decisions, summary: `${last.acts} act, ${last.warns} warn, ${last.alerts} alert` }
              : null,
        };
      });
    },
    async actNow(req: ActNowRequest) {
      if (deps.isLeader && !deps.isLeader()) throw new Standby();
      const now = clock.now();
      let fresh;
      try {
        fresh = await client.getInstance(req.instanceId);
      } catch (e) {
        if ((e as { code?: unknown }).code === 1000) throw new NotFound(`instance ${req.instanceId} not found`);
        throw e;
      }
      const [state] = instanceStates(db, [fresh.instance]);
      if (hasKeepMarker(state.name, config.keep_marker)) throw new KeepMarkerRefusal(state.name, config.keep_marker);
      if (!state.holdsGpu && req.action === 'release_gpu') throw new NotFound(`instance ${req.instanceId} holds no GPU (status ${state.status})`);
      const r = await executor.execute({
        key: `api:${req.instanceId}:${now}`,
        policy: 'api',
        action: req.action,
        instance: state,
        reason: req.reason ?? `requested through the API by ${req.who}`,
        reasonCode: req.reason ? undefined : { code: 'api.act_now', params: { who: req.who } },
        requireIdle: false,
        dryRun: false,
        who: req.who,
      });
      return { action_id: r.actionId ?? 0, state: r.state, reason: r.reason };
    },
    async wake(req) {
      if (deps.isLeader && !deps.isLeader()) throw new Standby();
      const w = await waker.wakeNow(req.instanceId, { gpuModels: req.gpuModels, gpuCount: req.gpuCount, giveUpAfter: req.giveUpAfter }, req.who);
      return { id: w.actionId, instance_id: w.instanceId, state: w.state };
    },
  };
  return { client, executor, ticker, waker, probes, service };
}
