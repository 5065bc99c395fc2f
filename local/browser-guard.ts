/**
 * What a web page elsewhere can make the local service do, decided in one place for the API and the ops console
 * (OWASP: DNS rebinding and cross-site request forgery against local development servers). A local-only rule: in
 * AWS, IAM refuses these requests, since a browser cannot sign one (docs/aws-fidelity.md).
 * - **Host (DNS rebinding).** On a loopback HOST, a request must name this machine: `localhost`, `*.localhost`,
 *   `127.0.0.1` or `[::1]`, on the port it arrived on. A page of another name that resolves to 127.0.0.1 is a page of
 *   another site reading this one, so it is refused. On another HOST the service is open to the network by choice,
 *   and any name may reach it (the exposed console adds its token).
 * - **Where a state-changing request comes from (CSRF).** A browser says it: `Sec-Fetch-Site` (`cross-site`,
 *   `same-site`) and `Origin`. Any other site's page, including one on another port of localhost (same-site), and an
 *   opaque origin (`Origin: null`: sandboxed frames, data: URLs) is refused, whatever it sends: a no-cors POST of a
 *   Blob needs no preflight, so only these headers can stop it. curl, SDKs and the project's tools send neither and
 *   are not browsers, so the API lets them through; the console, which only its own pages post to, asks for proof.
 */
import { headerValue } from './apigateway/api-gateway.js';

/** The addresses that answer this machine only: on them, the service answers this machine's names alone. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Which `Host` names the service answers to: this machine's (on a loopback HOST), or any (HOST opens the service to
 * the network).
 */
export type HostNames = 'loopback' | 'any';

export const hostNamesFor = (host: string): HostNames => (LOOPBACK_HOSTS.has(host) ? 'loopback' : 'any');

/** The parts of a request the rules read. Header names in any case. */
export interface RequestSite {
  method: string;
  headers: Record<string, string>;
  /** The port the request arrived on. */
  port: number;
}

/** `localhost:3000` -> ['localhost', '3000'], `[::1]:3000` -> ['[::1]', '3000'], `localhost` -> ['localhost', '']. */
function splitHost(host: string): [name: string, port: string] {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(host);
  return match ? [match[1] ?? '', match[2] ?? ''] : ['', ''];
}

const isLoopbackName = (name: string): boolean =>
  name === 'localhost' || name.endsWith('.localhost') || name === '127.0.0.1' || name === '[::1]';

/** Whether `host` (as in a Host header or a URL's host) names this machine on `port` (port 80 may go unsaid). */
export function namesThisMachine(host: string, port: number): boolean {
  const [name, given] = splitHost(host.toLowerCase());
  const portMatches = given === '' ? port === 80 : Number(given) === port;
  return portMatches && isLoopbackName(name.replace(/\.$/, ''));
}

/** Why a request is refused for its Host (DNS rebinding), or undefined when the service answers that name. */
export function refusesHost(request: Omit<RequestSite, 'method'>, names: HostNames): string | undefined {
  if (names === 'any') return undefined;
  const host = headerValue(request.headers, 'Host');
  if (host === undefined || host === '') return 'the request names no Host';
  if (namesThisMachine(host, request.port)) return undefined;
  return (
    `Host ${host} is not a name of this machine (localhost, *.localhost, 127.0.0.1, [::1] on port ${request.port}); ` +
    'a page of another name that resolves here (DNS rebinding) may not read or change anything'
  );
}

/**
 * Whether `origin` is a page of this service: `http://` and a name of this machine on the request's port. Open to the
 * network, the console's pages are also on whatever name the browser used, `http://<Host>`: taken as its own only
 * there (`ownPagesOnly`), where its token cookie, sent only to the name it was set on, has already shown the name to
 * be the one the browser was given. The API has no pages: a page of another name that POSTs to it, a rebinding page
 * included, is another site.
 */
function isOwnOrigin(origin: string, request: Omit<RequestSite, 'method'>, rule: CrossSiteRule): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || url.origin !== origin.toLowerCase()) return false;
  if (namesThisMachine(url.host, request.port)) return true;
  const host = headerValue(request.headers, 'Host')?.toLowerCase();
  return rule.names === 'any' && rule.ownPagesOnly && host !== undefined && url.origin === `http://${host}`;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CrossSiteRule {
  names: HostNames;
  /**
   * Only the service's own pages send such requests (the console): a request must show it with `Sec-Fetch-Site:
   * same-origin` or its own Origin, so curl's POST is refused too. Pages served with `Referrer-Policy: no-referrer`
   * send their own forms' POST with `Origin: null` (the Fetch standard's rule), so `null` is then accepted with
   * `Sec-Fetch-Site: same-origin`, which no page can forge. Off (the API), a request with neither header is a
   * caller that is not a browser, and welcome.
   */
  ownPagesOnly: boolean;
}

/** Why a state-changing request is refused as coming from another site, or undefined when it may go ahead. */
export function refusesCrossSite(request: RequestSite, rule: CrossSiteRule): string | undefined {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return undefined;
  const site = headerValue(request.headers, 'Sec-Fetch-Site')?.toLowerCase();
  const origin = headerValue(request.headers, 'Origin');
  if (site === 'cross-site' || site === 'same-site') return `the browser says the request is ${site}`;
  if (origin === 'null') {
    if (!(rule.ownPagesOnly && site === 'same-origin')) {
      return 'the request comes from an opaque origin (Origin: null), such as a sandboxed frame';
    }
  } else if (origin !== undefined && !isOwnOrigin(origin, request, rule)) {
    return `the request comes from ${origin}, not from a page of this service`;
  }
  if (!rule.ownPagesOnly) return undefined;
  if (site !== undefined && site !== 'same-origin') return `the browser says the request is ${site}`;
  if (site === undefined && (origin === undefined || origin === 'null')) {
    return 'the request says neither where it comes from (Origin) nor that it is same-origin (Sec-Fetch-Site)';
  }
  return undefined;
}
