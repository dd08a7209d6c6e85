/** The Open API request each action kind sends (what each kind means: src/action-kinds.ts). */
import type { ActionKind } from '../config/schema.js';
import type { ActionTarget } from '../action-kinds.js';
import type { XgcClient } from '../xgc/index.js';

/** Send the request of `action` for `t` as it was just re-read. */
export const SEND: Record<ActionKind, (client: XgcClient, t: ActionTarget) => Promise<void>> = {
  release_gpu: (client, t) => client.shutdownReleaseGpu(t.id),
  shutdown: (client, t) => client.shutdown(t.id),
  destroy: (client, t) => (t.status === 'running' ? client.shutdownDestroy(t.id) : client.destroy(t.id)),
  // the waker sends a wake's boot itself (model fallback, retries on a GPU shortage)
  boot: (client, t) => client.boot(t.id),
  notify: async () => undefined,
};
