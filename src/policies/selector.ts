/** Selectors (`match` / `exclude` on id, name glob, gpu model), the keep marker and overrides, as pure functions. */
import type { Selector } from '../config/schema.js';
import type { Override } from './types.js';
import { globMatch } from '../glob.js';

/** What a selector looks at. */
export interface Selectable {
  id: string;
  name: string;
  gpuModel: string;
}

/** Whether `inst` matches every field given in `sel` (each field: any of its values). */
export function selectorMatches(sel: Selector, inst: Selectable): boolean {
  if (sel.id && !sel.id.includes(inst.id)) return false;
  if (sel.name && !sel.name.some((g) => globMatch(g, inst.name))) return false;
  if (sel.gpu_model && !sel.gpu_model.some((g) => globMatch(g, inst.gpuModel))) return false;
  return true;
}

/** Whether a policy with `match` / `exclude` applies to `inst`. */
export function policySelects(p: { match?: Selector; exclude?: Selector }, inst: Selectable): boolean {
  if (p.match && !selectorMatches(p.match, inst)) return false;
  if (p.exclude && selectorMatches(p.exclude, inst)) return false;
  return true;
}

/** Whether the instance name carries the keep marker (never touched). */
export function hasKeepMarker(name: string, marker: string): boolean {
  return marker.length > 0 && name.includes(marker);
}

/** Whether override `o` covers `instance` for `policy` (it does not check the time: use the active set). */
export function overrideMatches(o: Override, instance: { id: string; name: string }, policy: string): boolean {
  const target = o.instanceId !== null ? o.instanceId === instance.id : o.nameGlob !== null && globMatch(o.nameGlob, instance.name);
  return target && (o.policies === null || o.policies.includes(policy));
}
