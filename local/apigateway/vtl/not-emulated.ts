/**
 * What the emulation leaves out fails the render. By default velocityjs renders an unknown member as nothing and
 * runs whatever JavaScript method a value has (`$s.trim()`, `$list.join(",")`), which would let a template pass
 * locally and behave otherwise in AWS.
 */
import { NotEmulatedError } from './errors.js';
import type { MethodHandler } from './java-string-methods.js';

/**
 * `members` behind a guard: reading or setting any other member throws. Members on the prototype (`toString`) stay
 * readable, because velocityjs and JavaScript read them to render a value.
 */
export function strictVariable<T extends object>(variable: string, members: T, template: string): T {
  const refuse = (key: string | symbol): boolean => typeof key === 'string' && !(key in members);
  return new Proxy(members, {
    get(target, key, receiver) {
      if (refuse(key)) throw new NotEmulatedError(template, `${variable}.${String(key)}`);
      return Reflect.get(target, key, receiver) as unknown;
    },
    set(target, key, value, receiver) {
      // velocityjs stores an `eval` helper on each object whose method a template calls.
      if (key !== 'eval' && refuse(key)) throw new NotEmulatedError(template, `${variable}.${String(key)}`);
      return Reflect.set(target, key, value, receiver);
    },
  });
}

/** What velocityjs gives maps and lists that behaves as Java's Map/List does: get, keySet, size. */
const COLLECTION_METHODS = new Set(['get', 'keySet', 'size']);

const javaType = (value: unknown): string => {
  if (typeof value === 'string') return 'String';
  if (Array.isArray(value)) return 'List';
  return value !== null && typeof value === 'object' ? 'Map' : typeof value;
};

/**
 * Put last among the custom handlers, after the Java String methods: any other method call but a `$util`/`$input`
 * function or a collection method above fails.
 */
export const notEmulatedMethods = (template: string): MethodHandler => ({
  uid: 'not emulated',
  match: ({ property, context }) =>
    !(
      typeof context === 'object' &&
      context !== null &&
      ((Object.hasOwn(context, property) && typeof (context as Record<string, unknown>)[property] === 'function') ||
        COLLECTION_METHODS.has(property))
    ),
  resolve: ({ property, context }) => {
    throw new NotEmulatedError(template, `${javaType(context)}#${property}()`);
  },
});
