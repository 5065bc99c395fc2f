/**
 * The exposed console's token, as Jupyter's: with a HOST open to the network, whoever reaches the port would reach
 * every order and the dead letters' redrive, so the console asks for a random token made at each start and printed
 * on the start line (`/console?token=…`). The first visit trades it for a cookie (HttpOnly, SameSite=Strict) and
 * takes it out of the address bar. The cookie is the proof that counts: a browser sends it only to the name it was
 * set on, so a page of another name that resolves to this machine (DNS rebinding) has none, and no other site's page
 * gets it sent (SameSite=Strict).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { headerValue } from '../apigateway/api-gateway.js';

/** 192 bits, URL-safe. */
export const newConsoleToken = (): string => randomBytes(24).toString('base64url');

/** One cookie per port: two services on one machine keep their own. */
const cookieName = (port: number): string => `order-intake-console-${port}`;

/** Compared in constant time, as digests so that a wrong length says nothing either. */
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const matches = (given: string, token: string): boolean => timingSafeEqual(digest(given), digest(token));

export interface TokenRequest {
  headers: Record<string, string>;
  query: URLSearchParams;
  /** The port the request arrived on. */
  port: number;
}

function cookieOf(headers: Record<string, string>, name: string): string | undefined {
  for (const part of (headerValue(headers, 'Cookie') ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * How a request shows the token: `cookie` (admitted), `query` (a first visit: answer with `setCookie` and send the
 * browser on without the token), or undefined (refused).
 */
export function presentedToken(request: TokenRequest, token: string): 'cookie' | 'query' | undefined {
  const cookie = cookieOf(request.headers, cookieName(request.port));
  if (cookie !== undefined && matches(cookie, token)) return 'cookie';
  const given = request.query.get('token');
  if (given !== null && matches(given, token)) return 'query';
  return undefined;
}

/** The Set-Cookie that keeps the token for the console's pages: not readable by script, never sent cross-site. */
export const tokenCookie = (token: string, port: number, path: string): string =>
  `${cookieName(port)}=${token}; Path=${path}; HttpOnly; SameSite=Strict`;
