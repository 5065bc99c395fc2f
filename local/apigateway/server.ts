/**
 * The node:http front of the local API: buffers each request body (up to API Gateway's 10 MB; the contract's 1 KB
 * limit is the workflow's to enforce), gives every request a fresh UUID as its id, hands it to the API Gateway
 * emulation, writes the answer and a summary log line.
 */
import { traceStartup } from '../startup-trace.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemResponse, withRequestIdHeaders, type ApiGateway, type ApiResponse } from './api-gateway.js';
import { hostNamesFor, refusesCrossSite, refusesHost, type HostNames } from '../browser-guard.js';
import { crossSiteRequestProblem, MAX_REQUEST_BODY_BYTES, requestTooLargeProblem } from './gateway-responses.js';
import { redactHeaders } from '../secrets.js';
import type { RequestLog } from './request-log.js';

/** One exchange as the client saw it: what it sent and what it was answered (for the ops console). */
export interface HttpExchange {
  requestId: string;
  startedAt: number;
  durationMs: number;
  method: string;
  path: string;
  /** Secrets redacted (local/secrets.ts): a recorded exchange is shown in a page. */
  requestHeaders: Record<string, string>;
  /** UTF-8, at most the first 64 KB: the contract's own limit is 1 KB. */
  requestBody: string;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: string;
}

/**
 * An object with no prototype, for names a client chooses: a header named `toString` or `__proto__` is then an entry
 * like any other, neither mistaken for Object.prototype's member nor dropped.
 */
export const headerMap = (): Record<string, string> => Object.create(null) as Record<string, string>;
const RECORDED_BODY_BYTES = 64 * 1024;

/** Routes the local server answers itself, before the API Gateway emulation (the ops console). */
export interface LocalRoutes {
  /** Answers the request if it is one of its own (true); false leaves it to the API. */
  serve(request: IncomingMessage, response: ServerResponse): boolean;
  /** Ends what it keeps open (live streams), so that the server can close. */
  close(): void;
}

/**
 * Node's defaults would let a client take 300 s to send one request (checked only every 30 s) and hold any number
 * of connections. A request, headers and body, arrives within 20 s or is answered 408; headers alone within 10 s.
 * The cap on connections is well above what the races test (1,000 clients at once) and the bench's burst (500)
 * need; past it, a new connection is closed at once. These timeouts bound receiving a request only: a slow answer
 * (a workflow running up to API Gateway's 29 s) is not cut.
 */
export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** How often the two timeouts are checked. */
  checkIntervalMs: number;
  maxConnections: number;
}
export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  checkIntervalMs: 1_000,
  maxConnections: 1_500,
};

export interface HttpServerOptions {
  gateway: ApiGateway;
  /** Served before the API; their requests are not API exchanges (neither logged as requests nor recorded). */
  localRoutes?: LocalRoutes;
  requestLog: RequestLog;
  /** Told of every exchange once it is answered. */
  onExchange?: (exchange: HttpExchange) => void;
  /** 0 picks a free port. */
  port: number;
  host: string;
  /** Default HTTP_LIMITS; tests shorten them. */
  limits?: Partial<HttpLimits>;
  /** The Host names the API answers to (local/browser-guard.ts); default: this machine's on a loopback `host`. */
  hostNames?: HostNames;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type BodyRead = { body: Buffer; tooLarge: boolean };

/**
 * Reads the whole body, up to API Gateway's limit. A body declared larger (Content-Length) is not read at all, and
 * one that grows past the limit as it comes (chunked) is read no further: the answer is 413, and the connection is
 * closed after it, so no one can make the server read a body of any size.
 */
function readBody(request: IncomingMessage): Promise<BodyRead> {
  const tooLarge = { body: Buffer.alloc(0), tooLarge: true };
  if (Number(request.headers['content-length']) > MAX_REQUEST_BODY_BYTES) {
    // Taken as consumed (Node would otherwise read the rest off the wire to discard it once answered), and paused.
    request.on('data', () => undefined).pause();
    return Promise.resolve(tooLarge);
  }
  return new Promise((done, failed) => {
    const chunks: Buffer[] = [];
    let byteLength = 0;
    const stop = (): void => {
      request.off('data', take).off('end', ended).off('error', errored).off('close', closed);
    };
    const errored = (error: Error): void => {
      stop();
      failed(error);
    };
    const take = (chunk: Buffer): void => {
      byteLength += chunk.byteLength;
      if (byteLength <= MAX_REQUEST_BODY_BYTES) return void chunks.push(chunk);
      stop();
      request.pause();
      done(tooLarge);
    };
    const ended = (): void => {
      stop();
      done({ body: Buffer.concat(chunks, byteLength), tooLarge: false });
    };
    // Closed before its end without an error: the client went away.
    const closed = (): void => {
      stop();
      failed(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    };
    request.on('data', take).once('end', ended).once('error', errored).once('close', closed);
  });
}

/**
 * How long a connection ended for a body too large stays half-open after the answer. Closing a socket whose
 * unread input is still queued makes the kernel reset the connection, and a reset can reach the client before it has
 * read the 413. So the answer is followed by a FIN, the input stays unread (the client, its window full, stops
 * sending), and the socket is destroyed after this delay or as soon as the client closes its side. A refused
 * cross-site request, answered before its body is read, ends the same way.
 */
const LINGER_AFTER_TOO_LARGE_MS = 2_000;

function lingerAfterAnswer(request: IncomingMessage): void {
  const socket = request.socket;
  // Node ends a `Connection: close` exchange with destroySoon(): FIN, then destroy once written, which resets.
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_AFTER_TOO_LARGE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

/**
 * Header names as the client sent them (API Gateway keeps their case). A name sent more than once is joined with
 * ", ", as RFC 9110 (5.3) lets a recipient combine field lines, so the templates see the repeat and refuse it: a
 * repeated Idempotency-Key is 400, a doubled Content-Type 415. AWS is believed to keep only the last line in a
 * template's header map, which would accept what this refuses: the stricter side (docs/aws-fidelity.md, row 23).
 */
function headersOf(request: IncomingMessage): Record<string, string> {
  const headers = headerMap();
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    headers[name] = name in headers ? `${headers[name]}, ${raw[i + 1]}` : (raw[i + 1] as string);
  }
  return headers;
}

const abandonReason = (error: unknown): string => {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return typeof code === 'string' ? code : (String(message ?? error).split('\n')[0] ?? '');
};

/**
 * A browser asks every site for /favicon.ico. It is no part of the API (in AWS, API Gateway would refuse it), so it
 * is answered here, before the API and the console, and is neither logged nor recorded as an exchange.
 */
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">' +
  '<rect width="16" height="16" rx="3" fill="#232f3e"/><path d="M4 8.5l2.5 2.5L12 5" stroke="#ff9900" ' +
  'stroke-width="2" fill="none"/></svg>';
function serveFavicon(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.url !== '/favicon.ico' || (request.method !== 'GET' && request.method !== 'HEAD')) return false;
  request.resume();
  response.writeHead(200, {
    'Content-Type': 'image/svg+xml',
    'Content-Length': String(Buffer.byteLength(FAVICON)),
    'Cache-Control': 'max-age=86400',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(request.method === 'HEAD' ? undefined : FAVICON);
  return true;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { gateway, requestLog, onExchange } = options;
  const hostNames = options.hostNames ?? hostNamesFor(options.host);

  /** A page elsewhere's request is answered before its body is read, and neither run nor recorded. */
  function refuseCrossSite(request: IncomingMessage, response: ServerResponse, reason: string, started: number): void {
    const requestId = randomUUID();
    const answer = withRequestIdHeaders(problemResponse(crossSiteRequestProblem(reason, requestId)), requestId);
    const body = Buffer.from(answer.body, 'utf8');
    // Connection: close, so that the rest of an unread body is not read either; it lingers as after a 413, so that
    // the refusal reaches the client before a reset could.
    lingerAfterAnswer(request);
    response.writeHead(answer.status, {
      ...answer.headers,
      'Content-Length': String(body.byteLength),
      Connection: 'close',
    });
    response.end(body);
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    requestLog.record({
      method: request.method ?? 'GET',
      path,
      status: answer.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      requestId,
    });
  }

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    { requestId, url, method }: { requestId: string; url: URL; method: string },
  ): Promise<void> {
    const started = performance.now();
    traceStartup('http: request received');
    const startedAt = Date.now();
    const headers = headersOf(request);
    const site = { method, headers, port: request.socket.localPort ?? 0 };
    const refusal = refusesHost(site, hostNames) ?? refusesCrossSite(site, { names: hostNames, ownPagesOnly: false });
    if (refusal !== undefined) return refuseCrossSite(request, response, refusal, started);
    let answer: ApiResponse;
    const read = await readBody(request);
    if (read.tooLarge) {
      answer = withRequestIdHeaders(problemResponse(requestTooLargeProblem(requestId)), requestId);
    } else {
      answer = await gateway.handle({
        requestId,
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: read.body,
      });
    }
    const body = Buffer.from(answer.body, 'utf8');
    // Past a body too large, the rest of it is still on its way: the connection ends with the answer.
    const closing = read.tooLarge ? { Connection: 'close' } : {};
    if (read.tooLarge) lingerAfterAnswer(request);
    response.writeHead(answer.status, { ...answer.headers, ...closing, 'Content-Length': String(body.byteLength) });
    response.end(body);
    traceStartup('http: request answered');
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    requestLog.record({
      method,
      path: url.pathname,
      status: answer.status,
      durationMs,
      requestId,
      ...(answer.orderId ? { orderId: answer.orderId } : {}),
      ...(answer.failure ? { failure: answer.failure } : {}),
    });
    onExchange?.({
      requestId,
      startedAt,
      durationMs,
      method,
      path: url.pathname,
      requestHeaders: redactHeaders(headers),
      requestBody: read.body.subarray(0, RECORDED_BODY_BYTES).toString('utf8'),
      status: answer.status,
      responseHeaders: redactHeaders(answer.headers),
      responseBody: answer.body,
    });
  }

  const limits = { ...HTTP_LIMITS, ...options.limits };
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  };
  const server = createServer(serverOptions, (request, response) => {
    if (serveFavicon(request, response)) return;
    if (options.localRoutes?.serve(request, response)) return;
    const asked = {
      requestId: randomUUID(),
      url: new URL(request.url ?? '/', 'http://localhost'),
      method: request.method ?? 'GET',
    };
    serve(request, response, asked).catch((error: unknown) => {
      // The client went away mid-request, or the socket failed: there is no one left to answer, and nothing to fix.
      requestLog.abandoned({
        method: asked.method,
        path: asked.url.pathname,
        requestId: asked.requestId,
        reason: abandonReason(error),
      });
      if (!response.headersSent) response.destroy();
    });
  });

  server.maxConnections = limits.maxConnections;

  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      listening();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((closed, failed) => {
        options.localRoutes?.close();
        server.close((error) => (error ? failed(error) : closed()));
        // Keep-alive connections would hold close() open until they time out.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
