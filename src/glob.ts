/** Shell-style globs (`*`, `?`) for instance names and GPU models, matched case-insensitively. */

/** Compile a shell-style glob (`*`, `?`) to a case-insensitive RegExp matching the whole string. */
export function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i');
}

const cache = new Map<string, RegExp>();
/** Whether `name` matches the glob. */
export function globMatch(glob: string, name: string): boolean {
  let re = cache.get(glob);
  if (!re) cache.set(glob, (re = globToRegExp(glob)));
  return re.test(name);
}
