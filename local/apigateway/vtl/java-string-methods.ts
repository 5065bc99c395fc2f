/**
 * In API Gateway a template's strings are java.lang.String, so templates call Java's methods on them
 * (`$id.matches("...")`, `$s.length()`). velocityjs hands values to JavaScript, where these are missing or mean
 * something else (`replace` swaps only the first match in JavaScript, every match in Java). Method handlers bring the
 * Java meaning back. Java regular expressions run as JavaScript RegExp: the common subset (classes, anchors,
 * quantifiers, groups) behaves the same; Java-only syntax such as possessive quantifiers is not supported.
 */
import type { Compile } from 'velocityjs';

type CompileConfig = NonNullable<ConstructorParameters<typeof Compile>[1]>;
export type MethodHandler = NonNullable<CompileConfig['customMethodHandlers']>[number];

const JAVA_STRING_METHODS: Readonly<Record<string, (self: string, ...args: unknown[]) => unknown>> = {
  length: (self) => self.length,
  isEmpty: (self) => self.length === 0,
  equals: (self, other) => self === other,
  equalsIgnoreCase: (self, other) => typeof other === 'string' && self.toLowerCase() === other.toLowerCase(),
  contains: (self, part) => self.includes(String(part)),
  lastIndexOf: (self, part) => self.lastIndexOf(String(part)),
  // Java throws on an end index past the length; the templates guard with length() first.
  substring: (self, begin, end) => self.substring(Number(begin), end === undefined ? undefined : Number(end)),
  matches: (self, regex) => new RegExp(`^(?:${String(regex)})$`).test(self),
  replace: (self, target, replacement) => self.split(String(target)).join(String(replacement)),
  replaceAll: (self, regex, replacement) => self.replace(new RegExp(String(regex), 'g'), String(replacement)),
  replaceFirst: (self, regex, replacement) => self.replace(new RegExp(String(regex)), String(replacement)),
  split: (self, regex) => {
    const parts = self.split(new RegExp(String(regex)));
    // Java drops trailing empty strings.
    while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    return parts;
  },
};

export const javaStringMethodHandlers: MethodHandler[] = Object.entries(JAVA_STRING_METHODS).map(([name, method]) => ({
  uid: `java.lang.String#${name}`,
  match: ({ property, context }) => property === name && typeof context === 'string',
  resolve: ({ context, params }) => method(context as string, ...params),
}));
