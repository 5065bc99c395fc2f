/**
 * The JSONPath subset that API Gateway mapping templates use with `$input.path` and `$input.json`: the root `$`,
 * members (`$.a.b`, `$['a-b']`, `$["a"]`) and array indexes (`$.a[0]`). Anything else (wildcards, filters, slices,
 * recursive descent) is refused loudly rather than answered wrongly.
 */

export type PathStep = string | number;

export class JsonPathError extends Error {
  override name = 'JsonPathError';
}

const MEMBER = /^\.([A-Za-z_$][\w$-]*)/;
const QUOTED_MEMBER = /^\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]/;
const INDEX = /^\[\s*(\d+)\s*\]/;

const parsed = new Map<string, PathStep[]>();

export function parseJsonPath(path: string): PathStep[] {
  const cached = parsed.get(path);
  if (cached) return cached;
  const text = path.trim();
  if (!text.startsWith('$')) throw new JsonPathError(`JSONPath must start with $: ${path}`);
  const steps: PathStep[] = [];
  let rest = text.slice(1);
  while (rest.length > 0) {
    const member = MEMBER.exec(rest);
    const quoted = member ? null : QUOTED_MEMBER.exec(rest);
    const index = member || quoted ? null : INDEX.exec(rest);
    const match = member ?? quoted ?? index;
    if (!match) throw new JsonPathError(`unsupported JSONPath at "${rest}" in ${path}`);
    if (member) steps.push(member[1] as string);
    else if (quoted) steps.push((quoted[1] ?? quoted[2] ?? '').replace(/\\(.)/g, '$1'));
    else steps.push(Number(index?.[1]));
    rest = rest.slice(match[0].length);
  }
  // Templates use a handful of literal paths; the cache stays as small as they are.
  if (parsed.size < 256) parsed.set(path, steps);
  return steps;
}

/** The value at `path`, or undefined when any step is missing (API Gateway then renders nothing). */
export function selectJsonPath(document: unknown, path: string): unknown {
  let value = document;
  for (const step of parseJsonPath(path)) {
    if (value === null || typeof value !== 'object') return undefined;
    if (typeof step === 'number') {
      if (!Array.isArray(value)) return undefined;
      value = value[step];
    } else {
      if (Array.isArray(value) || !Object.hasOwn(value, step)) return undefined;
      value = (value as Record<string, unknown>)[step];
    }
  }
  return value;
}
