/** Spend groups: the `groups:` config and first-match membership. */
import { describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../src/errors.js';
import { parseConfig } from '../../src/config/index.js';
import { groupOf } from '../../src/groups.js';

/** Config error lines of `raw`, or [] when it parses. */
function errorsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

const GROUPS = [
  { name: 'render', match: { name: 'sd-*' } },
  { name: 'render-4090', match: { name: 'sd-*', gpu_model: '*4090*' } }, // never reached: "render" matches first
  { name: 'big', match: { id: 'inst-c' } },
];

describe('groups config', () => {
  it('defaults to no groups', () => {
    expect(parseConfig({}).groups).toEqual([]);
  });

  it.each([
    [{ groups: [{ name: 'a', match: { name: 'x*' } }, { name: 'a', match: { name: 'y*' } }] }, 'groups[1].name: duplicate group name "a" (also groups[0])'],
    [{ groups: [{ name: 'a', match: { name: 'x*' } }, { name: '', match: { name: 'y*' } }] }, 'groups[1].name'],
    [{ groups: [{ name: '  ', match: { name: 'y*' } }] }, 'groups[0].name'],
    [{ groups: [{ name: 'ok', match: {} }, { name: 'other', match: { name: 'y*' } }] }, 'groups[1].name: "other" is reserved'],
    [{ groups: [{ name: 'a', match: { nmae: 'x*' } }] }, 'groups[0].match.nmae: unknown key'],
    [{ groups: [{ name: 'a' }] }, 'groups[0].match'],
  ])('rejects %j naming the key path', (raw, expected) => {
    expect(errorsOf(raw).join('\n')).toContain(expected);
  });

  it('puts an instance in the first group that matches, else "other"', () => {
    const { groups } = parseConfig({ groups: GROUPS });
    expect(groupOf(groups, { id: 'inst-c', name: 'SD-C', gpuModel: 'RTX 4090' })).toBe('render');
    expect(groupOf(groups, { id: 'inst-c', name: 'lab', gpuModel: '' })).toBe('big');
    expect(groupOf(groups, { id: 'inst-x', name: 'train-b', gpuModel: 'RTX 4090' })).toBe('other');
    expect(groupOf([], { id: 'inst-c', name: 'sd-c', gpuModel: '' })).toBe('other');
  });
});
