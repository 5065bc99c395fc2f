/**
 * What a new minor version of a published JSON Schema may change: within a major version only optional members may
 * be added, and words (description, title, examples) may change. Anything else can break a consumer written against
 * the older schema, in one direction or the other: a member removed or newly required, a type or constraint changed
 * (narrowed or widened), a constraint added.
 */
import { isObject } from '../../src/json-value.js';

const ANNOTATIONS = new Set(['description', 'title', 'examples', '$comment']);
const isSchema = (value: unknown): value is Record<string, unknown> => isObject(value);
const requiredOf = (schema: Record<string, unknown>): string[] =>
  Array.isArray(schema.required) ? schema.required.map(String) : [];

export function breakingChanges(older: unknown, newer: unknown, path = '#'): string[] {
  if (!isSchema(older) || !isSchema(newer)) {
    return JSON.stringify(older) === JSON.stringify(newer) ? [] : [`${path}: changed`];
  }
  const changes: string[] = [];
  const keys = new Set([...Object.keys(older), ...Object.keys(newer)]);
  for (const key of keys) {
    if (ANNOTATIONS.has(key)) continue;
    const at = `${path}/${key}`;
    if (key === 'properties') {
      const before = isSchema(older.properties) ? older.properties : {};
      const after = isSchema(newer.properties) ? newer.properties : {};
      for (const name of Object.keys(before)) {
        if (!(name in after)) changes.push(`${at}/${name}: removed`);
        else changes.push(...breakingChanges(before[name], after[name], `${at}/${name}`));
      }
    } else if (key === 'required') {
      const before = requiredOf(older);
      const after = requiredOf(newer);
      for (const name of before.filter((member) => !after.includes(member))) {
        changes.push(`${at}: ${name} is no longer required`);
      }
      for (const name of after.filter((member) => !before.includes(member))) {
        changes.push(`${at}: ${name} is newly required`);
      }
    } else if (key === 'items') {
      changes.push(...breakingChanges(older.items, newer.items, at));
    } else if (!(key in older)) {
      changes.push(`${at}: constraint added (${JSON.stringify(newer[key])})`);
    } else if (!(key in newer)) {
      changes.push(`${at}: constraint removed (${JSON.stringify(older[key])})`);
    } else if (JSON.stringify(older[key]) !== JSON.stringify(newer[key])) {
      changes.push(`${at}: ${JSON.stringify(older[key])} became ${JSON.stringify(newer[key])}`);
    }
  }
  return changes;
}
