import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * SHA-256 (hex) of the RFC 8785 canonical JSON of a parsed body: key order and whitespace do not change the key.
 */
export function idempotencyKeyOf(parsedBody: unknown): string {
  const canonical = canonicalize(parsedBody);
  if (canonical === undefined) throw new TypeError('body has no JSON representation');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
