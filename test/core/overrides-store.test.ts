import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { BadRequest, NotFound } from '../../src/errors.js';
import { activeOverrides, createOverride, listOverrides, OverrideConflict, revokeOverride } from '../../src/db/overrides.js';
import { globMatch } from '../../src/glob.js';
import { overrideMatches } from '../../src/policies/selector.js';

const NOW = Date.parse('2026-01-10T04:00:00Z');
const H = 3_600_000;
let gdb: GuardDb;
beforeEach(() => {
  gdb = openDb(':memory:');
});
afterEach(() => gdb.close());

describe('overrides store (shared by API, CLI and policy engine)', () => {
  it('activeOverrides holds unexpired, unrevoked rows; expired and revoked ones drop out', () => {
    const short = createOverride(gdb.db, { target: { instance_id: 'a' }, kind: 'snooze', for: H, reason: '', who: 't' }, NOW);
    const forever = createOverride(gdb.db, { target: { name: 'sd-*' }, kind: 'exempt', forever: true, reason: '', who: 't' }, NOW);
    const revoked = createOverride(gdb.db, { target: { instance_id: 'b' }, kind: 'exempt', until: NOW + 10 * H, reason: '', who: 't' }, NOW);
    revokeOverride(gdb.db, revoked.id, NOW + 1);
    expect(activeOverrides(gdb.db, NOW + 1).map((o) => o.id)).toEqual([forever.id, short.id]);
    expect(activeOverrides(gdb.db, NOW + H).map((o) => o.id)).toEqual([forever.id]);
    expect(listOverrides(gdb.db, { all: true }, NOW + H)).toHaveLength(3);
  });

  it('matches by instance id or name glob, and by policy list (null = all)', () => {
    const byId = createOverride(gdb.db, { target: { instance_id: 'a' }, kind: 'snooze', for: H, policies: ['nightly'], reason: '', who: 't' }, NOW);
    const byName = createOverride(gdb.db, { target: { name: 'sd-?' }, kind: 'exempt', forever: true, reason: '', who: 't' }, NOW);
    expect(overrideMatches(byId, { id: 'a', name: 'x' }, 'nightly')).toBe(true);
    expect(overrideMatches(byId, { id: 'a', name: 'x' }, 'idle-release')).toBe(false);
    expect(overrideMatches(byId, { id: 'b', name: 'x' }, 'nightly')).toBe(false);
    expect(overrideMatches(byName, { id: 'z', name: 'sd-1' }, 'anything')).toBe(true);
    expect(overrideMatches(byName, { id: 'z', name: 'sd-12' }, 'anything')).toBe(false);
  });

  it.each([
    ['sd-*', 'sd-webui', true],
    ['sd-*', 'xsd-webui', false],
    ['*train*', 'my-training-box', true],
    ['a.b', 'axb', false],
    ['(x)', '(x)', true],
    ['*', '', true],
    ['SD-*', 'sd-webui', true],
  ])('glob %s vs %s -> %s', (glob, name, want) => {
    expect(globMatch(glob, name)).toBe(want);
  });

  it('rejects bad input with the field named, and revoking twice or an unknown id', () => {
    const bad = (input: Record<string, unknown>) => () =>
      createOverride(gdb.db, { target: { instance_id: 'a' }, kind: 'snooze', reason: '', who: 't', ...input } as never, NOW);
    expect(bad({})).toThrow(BadRequest);
    expect(bad({ until: NOW })).toThrow(/until: must be in the future/);
    expect(bad({ for: H, until: NOW + H })).toThrow(/exactly one/);
    expect(bad({ forever: true })).toThrow(/forever: a snooze needs until or for/);
    expect(bad({ for: H, target: { instance_id: 'A!' } })).toThrow(/target\.instance_id/);
    expect(bad({ for: H, target: { instance_id: 'a', name: 'b' } })).toThrow(/target: give exactly one/);
    const o = createOverride(gdb.db, { target: { instance_id: 'a' }, kind: 'snooze', for: H, reason: '', who: 't' }, NOW);
    revokeOverride(gdb.db, o.id, NOW);
    expect(() => revokeOverride(gdb.db, o.id, NOW)).toThrow(OverrideConflict);
    expect(() => revokeOverride(gdb.db, 12345, NOW)).toThrow(NotFound);
  });
});
