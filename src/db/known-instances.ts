/** What the guard has seen of instances, for the CLI: names by id, glob matches, and where history starts. */
import { asc, min } from 'drizzle-orm';
import { globMatch } from '../glob.js';
import type { Db } from './open.js';
import { instances } from './schema.js';

/** One instance the guard has recorded (gone ones too). */
export interface KnownInstance {
  id: string;
  name: string;
  gone: boolean;
}

/** Every instance the guard has ever recorded, by name. */
export function knownInstances(db: Db): KnownInstance[] {
  return db
    .select({ id: instances.id, name: instances.name, goneAt: instances.goneAt })
    .from(instances)
    .orderBy(asc(instances.name), asc(instances.id))
    .all()
    .map((r) => ({ id: r.id, name: r.name, gone: r.goneAt !== null }));
}

/** Instance names by id. */
export function instanceNames(db: Db): Map<string, string> {
  return new Map(knownInstances(db).map((i) => [i.id, i.name]));
}

/** The known instances whose name matches a glob (case-insensitive `*` and `?`, as overrides match). */
export function instancesMatching(db: Db, glob: string): KnownInstance[] {
  return knownInstances(db).filter((i) => globMatch(glob, i.name));
}

/** When the guard first saw any instance (epoch ms), or null before its first successful tick. */
export function historyStart(db: Db): number | null {
  return db.select({ at: min(instances.firstSeen) }).from(instances).get()?.at ?? null;
}

/** Every recorded instance's id, name and GPU model (what a `match` selector looks at), by id. */
export function instanceSelectables(db: Db): Map<string, { id: string; name: string; gpuModel: string }> {
  const rows = db.select({ id: instances.id, name: instances.name, gpuModel: instances.gpuModel }).from(instances).all();
  return new Map(rows.map((r) => [r.id, r]));
}
