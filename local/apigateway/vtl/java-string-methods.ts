/**
 * In API Gateway a template's strings are java.lang.String, so templates call Java's methods on them
 * (`$id.matches("...")`, `$s.length()`). velocityjs hands values to JavaScript, where these are missing or mean
 * something else. Method handlers bring the Java meaning back for the methods the project's templates call; any
 * other fails (not-emulated.ts). Java regular expressions run as JavaScript RegExp: the common subset (classes,
 * anchors, quantifiers, groups) behaves the same; Java-only syntax such as possessive quantifiers is not supported.
 */
import type { Compile } from 'velocityjs';

type CompileConfig = NonNullable<ConstructorParameters<typeof Compile>[1]>;
export type MethodHandler = NonNullable<CompileConfig['customMethodHandlers']>[number];

const JAVA_STRING_METHODS: Readonly<Record<string, (self: string, ...args: unknown[]) => unknown>> = {
  length: (self) => self.length,
  lastIndexOf: (self, part) => self.lastIndexOf(String(part)),
  substring: (self, begin, end = self.length) => {
    const [from, to] = [Number(begin), Number(end)];
    // Java throws where JavaScript would clamp or swap the indexes.
    if (!(from >= 0 && from <= to && to <= self.length)) {
      throw new RangeError(`String#substring(${from}, ${to}) out of range for length ${self.length}`);
    }
    return self.substring(from, to);
  },
  matches: (self, regex) => new RegExp(`^(?:${String(regex)})$`).test(self),
  // Java's uses the default locale; header names are ASCII, where every locale agrees.
  toLowerCase: (self) => self.toLowerCase(),
};

export const javaStringMethodHandlers: MethodHandler[] = Object.entries(JAVA_STRING_METHODS).map(([name, method]) => ({
  uid: `java.lang.String#${name}`,
  match: ({ property, context }) => property === name && typeof context === 'string',
  resolve: ({ context, params }) => method(context as string, ...params),
}));
