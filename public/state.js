// The page's one mutable state, shared by the modules (no framework: render functions read it).

/** Everything the page knows: settings from the session, the last data per source, and UI state. */
export const state = {
  locale: 'en',
  serverLocale: 'en', // the guard's configured locale (the page's `lang` as served, then the session's)
  tz: 'Asia/Shanghai',
  role: 'open',
  keepMarker: '#keep',
  session: null,
  data: {},
  errors: {},
  server: null, // { now: epoch ms of the world, perf: performance.now() when it arrived }
  rate: 1, // world ms per browser ms (the demo runs faster)
  lastOkAt: null, // the server's `now` of the last successful refresh
  needToken: false,
  armed: null, // { key, until } for two-click buttons
  inflight: false,
  tuneAt: null, // Date.now() of the last GET /api/v1/tune (read every few minutes)
};

/** Whether this session may write (create overrides, wake). */
export function canWrite() {
  return state.role !== 'read';
}
