/**
 * HTML for the ops console, built with one tagged template. Every interpolated value is escaped by `escapeHtml`
 * unless it is itself the result of `html` (already built, its own values escaped): order data and request data are
 * untrusted text, and there is no other way for a value to reach a page.
 */

/** Markup that is safe as it is: only `html` makes one. */
export class SafeHtml {
  constructor(readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The one escaping function: text to HTML text or attribute value (always quoted with "). */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);

export type HtmlValue = SafeHtml | string | number | boolean | undefined | null | readonly HtmlValue[];

const render = (value: HtmlValue): string => {
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
};

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let markup = strings[0] ?? '';
  values.forEach((value, index) => {
    markup += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(markup);
}

/**
 * How much of a value a page shows. Recorded request bodies are the client's, up to 64 KB: indenting them without a
 * bound lets nesting multiply their size (8 KB of nested arrays indents to 32 MB). Below `maxDepth` a value is
 * shown compact, and the text stops at `maxChars` with a note; the history export keeps everything.
 */
export const PRETTY_LIMITS = { maxDepth: 8, maxChars: 6 * 1024 };

const indented = (value: unknown, depth: number, indent: string): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (depth >= PRETTY_LIMITS.maxDepth) return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + indented(item ?? null, depth + 1, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  if (entries.length === 0) return '{}';
  const members = entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${indented(item, depth + 1, inner)}`);
  return `{\n${members.join(',\n')}\n${indent}}`;
};

const capped = (text: string): string =>
  text.length <= PRETTY_LIMITS.maxChars
    ? text
    : `${text.slice(0, PRETTY_LIMITS.maxChars)}\n… (${text.length - PRETTY_LIMITS.maxChars} more characters not shown)`;

/** A value as indented JSON text (a string holding JSON is parsed first), for a <pre>; escaped by `html` as text. */
export const prettyJson = (value: unknown): string => {
  if (typeof value === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return capped(value);
    }
    return capped(indented(parsed, 0, ''));
  }
  return capped(indented(value, 0, ''));
};
