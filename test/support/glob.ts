/**
 * IAM-style globs (`*` any run of characters, `?` one character): whether a glob matches a string, and whether
 * two globs can match a common string (a policy's `models/job-*` and a job's output `models/job-1/*`).
 */

const cache = new Map<string, RegExp>();

function regex(glob: string): RegExp {
  let r = cache.get(glob);
  if (!r) {
    r = new RegExp(
      `^${glob
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('')}$`,
      's',
    );
    cache.set(glob, r);
  }
  return r;
}

const wild = (s: string) => /[*?]/.test(s);

/** Whether some string matches both globs. */
export function globsIntersect(a: string, b: string): boolean {
  if (!wild(a)) return wild(b) ? regex(b).test(a) : a === b;
  if (!wild(b)) return regex(a).test(b);
  // Both have wildcards: walk both at once (i, j: positions in a and b).
  const seen = new Set<number>();
  const walk = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    if (seen.has(key)) return false;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    if (a[i] === '*' && (walk(i + 1, j) || (j < b.length && walk(i, j + 1)))) return true;
    if (b[j] === '*' && (walk(i, j + 1) || (i < a.length && walk(i + 1, j)))) return true;
    if (i < a.length && j < b.length && a[i] !== '*' && b[j] !== '*' && (a[i] === b[j] || a[i] === '?' || b[j] === '?'))
      return walk(i + 1, j + 1);
    return false;
  };
  return walk(0, 0);
}
